"""Every sentence the teacher-facing app shows, in one place, and the one exception-to-text boundary.

Keeping the words here (not scattered through app.py) lets a teacher-facing wording change, or a
translation, touch one file; `error_text` is the single place where an exception becomes display text,
always HTML-escaped because Gradio renders messages as HTML.
"""

from __future__ import annotations

import html
import re

from ..assessment import TRAINED, UNTRAINED, ZERO_SHOT
from ..calibration.fit import MIN_EXEMPLARS

TITLE = "Speaking Assessment"
SUBTITLE = (
    "Score a learner's answers to a Speak & Improve-style speaking test on the CEFR scale "
    "(2.0 = A2 … 5.5 = C1+). Two graders listen to every part: a speech grader (how it is said) "
    "and a multimodal grader (what is said and how); their scores are fused per part."
)

TAB_ONE = "Assess one learner"
TAB_CLASS = "Classroom"
TAB_CALIBRATE = "Calibrate"
CALIBRATED_WITH = "Calibrated to the teacher's marking: profile \u201c{name}\u201d"
CALIBRATION_EVIDENCE = "; its held-out check: {words}"
CALIBRATED_NOT_HELPING = ("Calibration profile \u201c{name}\u201d is in use although its own held-out check found it does "
                          "not help ({words}): these scores are not shown to be closer to the teacher's marks than "
                          "uncalibrated ones.")
DID_NOT_HELP = "did not help"
TAB_HELP = "Help"

LEARNER_LABEL = "Learner name or id (optional)"
LEARNER_PLACEHOLDER = "e.g. Maria S."
ANSWER_LABEL = "Part {part}, answer {n} of {of}: {question}"
SKIP_TO_ASSESS = "Skip to the Assess button"
ANSWER_OK = "{seconds:.0f} s, about {speech:.0f} s of speech."
ANSWER_LONG = "That is much longer than the about {expected:.0f} s this answer should take: is it the right file?"
ANSWER_CLIPPED = "It is distorted (recorded too loud); the score may be lower than the learner deserves."
ANSWER_FIX = "Upload or record this answer again; the other answers are still assessed."
CHARTS_AS_TEXT = "The charts as text"
CHART_AS_TEXT = "The chart as text"
# The text alternatives of the class chart, the calibration chart and the delivery timeline (chart_text.py).
CLASS_TEXT_SPREAD = "{n} learner{s} with an overall score: {spread}."
CLASS_TEXT_RANGE = "Highest {high}; lowest {low}."
CLASS_TEXT_PROVISIONAL = ("{k} of them provisional (not every part or answer was assessed): hatched in the chart, "
                          "counted at their level.")
CLASS_TEXT_UNSCORED = "{k} learner{s} without an overall score, not in the chart: {learners}."
CLASS_TEXT_NOT_GRADES = "Untrained models: these scores are not grades."
CLASS_TEXT_LEVELS = "Learners per level"
CLASS_TEXT_LEARNERS = "Each learner, highest overall first"
EVIDENCE_TEXT_N = ("{n} graded responses from {learners} learner{s} ({parts}), each scored by a calibration "
                   "fitted without it.")
EVIDENCE_TEXT_METRIC = "{label}: {before} before, {after} after calibration"
EVIDENCE_TEXT_LABELS = {"rmse": "RMSE (the typical error; lower is better)",  # calibration_chart.METRICS keys
                        "pcc": "Pearson correlation (higher is better)",
                        "within_0_5": "share within half a band of your mark (1.00 = all)"}
EVIDENCE_TEXT_NA = "n/a means undefined: all the marks, or all the scores, are the same."
EVIDENCE_TEXT_CLOSER = "Closer to your mark after calibration: {closer} of {n}; further: {further}; unchanged: {same}."
EVIDENCE_TEXT_TABLE = "Your marks and the system's scores, lowest mark first"
TIMELINE_ANSWER = "{name} ({duration} recorded): {steps}."
TIMELINE_SPOKE = "spoke {start}–{end}"
TIMELINE_PAUSE = "pause {length:.1f} s"
TIMELINE_MORE = "… then {k} more stretches of speech, to {end}"
TIMELINE_NO_SPEECH = "{name} ({duration} recorded): no speech was found."
TIMELINE_PAUSES = "{n} pause{s} of {short:g} s or more, {long} of at least {long_s:g} s"
TIMELINE_NO_PAUSE = "No pause of {short:g} s or more"
TIMELINE_LONGEST = "longest {length:.1f} s at {at}"
TIMELINE_SYLLABLES = "{n} syllables."
ASSESS_BUTTON = "Assess"
CLEAR_BUTTON = "Clear"
EXAMPLES_LABEL = "Try an example (synthetic speech made with espeak-ng, not a real learner)"
EXAMPLE_FULL = "Example learner: all four parts"
EXAMPLE_BAD = "Example learner: Part 4 is silent"
EXAMPLE_LEARNER = "Example learner (synthetic)"
EXAMPLE_LEARNER_BAD = "Example learner (synthetic, silent Part 4)"
RESULTS_HEADING = "Results"
NO_RESULT_YET = "Record or upload at least one answer, then press <b>Assess</b>. The result appears here."
NO_LEARNER_YET = "Assess a class or open a saved session, then choose a learner to see their details here."
CHART_PLACEHOLDER = "The chart appears after an assessment."
NOTHING_TO_ASSESS = "Nothing to assess"
API_NO_AUDIO = ("No recording was given: pass at least one of part1 (a list of up to 6 files), part3, part4 "
                "or part5 (up to 5 files), each made with gradio_client.handle_file(path).")
API_BAD_DETAIL = "detail={detail!r} is not known: send one of {allowed} (compact is the default)."
API_NO_CLASS = "The class was not assessed, so there is no CSV: no learner could be read from the upload."
NO_AUDIO = ("No recording was given, so nothing was assessed. Record or upload at least one answer "
            "in the parts above, then press <b>Assess</b> again.")

PART_TABLE_LABEL = "Per-part scores"
NOTES_HEADING = "What each part rests on"
NOTES_TRANSCRIPT = "What was heard:"
NOTES_BASIS = "How the score was made:"
RANDOM_TRANSCRIBER = ("The transcripts come from the offline test transcriber (random weights, --tiny): they are "
                      "random characters or nothing at all, not what the learner said. A real speech recogniser "
                      "(Whisper, or the multimodal grader on a GPU) writes the learner's words here.")
NO_TRANSCRIBER = "No speech recogniser is running (--asr none), so there are no transcripts."
CHART_PARTS = "Scores per part"
CHART_FUSION = "Fusion weight per part"
CHART_PROTOTYPES = "Speech grader: similarity to each CEFR level"
CHART_MLLM = "Multimodal grader: score distribution"
CHART_DELIVERY = "Delivery: speech, pauses and syllables in each answer"
DELIVERY_HEADING = "Delivery, measured from the recordings"
DELIVERY_NOTE = ("Measured, not graded: voice activity (Silero VAD) and syllable nuclei (de Jong & Wempe 2009) "
                 "find where the learner spoke and paused. A pause is a silence of at least 0.25 s between words; "
                 "the silence before the first word and after the last is not counted. No CEFR level is attached "
                 "to these numbers.")
DELIVERY_NONE = "No answer of this part was measured."
LANGUAGE_HEADING = "Language use, from the transcript"
LANGUAGE_NOTE = ("Language use is counted from the words of a trusted transcript (the learner's own, or a real "
                 "transcriber's; never the offline test model's): the vocabulary's CEFR bands from the cefrpy word "
                 "list (CEFR-J, A1-B2; C1+ estimated from word frequency), lexical diversity (MTLD), filled pauses "
                 "and repetitions per 100 words. Counted, not graded.")
# The numbers in words; {…} are filled from PartDelivery.summary().
DELIVERY_NUMBERS = ("Spoke {speaking_s:.0f} s of {duration_s:.0f} s ({phonation:.0%} of the time from first to last "
                    "word) · {speech_rate:.1f} syllables/s overall, {articulation_rate:.1f} while speaking · "
                    "{pauses} pause{pauses_s} ({long_pauses} of 1 s or more){mean_pause} · "
                    "{run:.0f} syllables between pauses on average · started after {start_s:.1f} s{wpm}")
RAW_JSON = "Full result (JSON)"
DOWNLOAD_JSON = "Download result (JSON)"
LEARNER_REPORT_LABEL = "Learner report: a printable page (HTML, prints to A4) and a PDF"
CLASS_REPORTS_BUTTON = "Reports for the whole class (zip)"
CLASS_REPORTS_LABEL = "Every learner's report (HTML and PDF), one zip"
REPORTS_NO_SESSION = "Choose a session in “Saved sessions” first, then press “Reports for the whole class (zip)”."
REPORTS_NO_LEARNERS = "This session has no assessed learner yet, so there is no report to make."

# Honesty: shown whenever a score rests on a model without trained weights.
NOT_GRADES_BANNER = (
    "Untrained models — these numbers are not grades. They show how the app works; "
    "load trained grader checkpoints to assess learners."
)
NOT_A_GRADE = "not a grade"
PARTIAL_OVERALL = "Covers {covered} only; {missing} could not be assessed."
FULL_OVERALL = "Covers all four parts ({covered}), every answer."
SHORT_OVERALL = "Covers all four parts ({covered}), but {why}."
PROVISIONAL_PARTS = "provisional: {k} of {n} parts"
PROVISIONAL_ANSWERS = "provisional: {answers}"
ANSWERS_OF = "{k} of {n} answers"
COMPLETE = "complete"
NOT_ASSESSED = "not assessed"
NO_OVERALL = "No part could be assessed, so there is no overall score."
# A session grader's own overall (Assessment.holistic), shown beside the mean of the parts, never in its place.
OWN_OVERALL = "The {grader} grader's own overall, from the whole test at once: {cefr} {score:.2f}"

# How sure a score is (sla_core.intervals): a fitted interval, or the model's own spread, never mixed up.
INTERVAL_WORDS = "{coverage:.0%} interval: {low:.2f}–{high:.2f} ({low_cefr} to {high_cefr})"
INTERVAL_SENTENCE = ("The learner's mark lies between {low:.2f} ({low_cefr}) and {high:.2f} ({high_cefr}) "
                     "with {coverage:.0%} probability.")
INTERVAL_BOUND = " (a conservative bound)"
INTERVAL_NONE = "No calibrated interval: {note}"
NO_FITTED_WIDTHS = "no fitted interval widths for these graders"
MODEL_SPREAD = "model's own uncertainty (not calibrated): {low:.1f}–{high:.1f}"
REVIEW_HEADING = "Listen before relying on this result:"
REVIEW_FLAG = "⚑ review"

PART_STATUS = {
    "assessed": "assessed",
    "missing": "no recording",
    "rejected": "could not be assessed",
    "not_assessable": "not assessable",
}
CHECKS_NOTE = "Checks: {summary}"  # what the answer checks measured (sla_core.checks), under the part table

# Model status panel.
STATUS_HEADING = "Models"
GRADER_NAMES = {
    "speech": "Speech grader (wav2vec 2.0)",
    "mllm": "Multimodal grader (Phi-4-multimodal)",
    "asr": "Speech recognition",
    "fusion": "Score fusion",
    "calibration": "Teacher calibration",
    "language_id": "Language check (Whisper language ID)",
    "topic": "Topic check (sentence embeddings)",
    "checks": "Answer checks",
}
STATE_TEXT = {
    TRAINED: "trained",
    ZERO_SHOT: "zero-shot (uncalibrated)",
    UNTRAINED: "untrained",
}
NOTHING_TRAINED = (
    "No trained grader is loaded. The app runs and shows every step, but its numbers are not grades."
)
SOME_TRAINED = "Trained artifacts are loaded for: {what}."
TRAINED_PARTS = "trained for part(s) {parts}"
CALIBRATION_IN_USE = "in use"
FUSION_FITTED = "fitted"
OVER_UNTRAINED = "(over untrained graders: not grades)"
CALIBRATION_PARTS = "changes part(s) {parts} only"
VERDICT_NOT_IN_USE = ("Not in use yet: save the profile, then choose it below and press “Use this profile”.")

# Classroom mode.
CLASS_INTRO = """\
Upload a whole class at once, assess everybody, then sort, download or reopen the results later.
Every learner's result is saved on this computer as soon as it is computed.

**What to upload** (any one of these):

* a **.zip** of a folder with one sub-folder per learner: `maria/part1_1.wav`, `maria/part1_2.wav`, …, `maria/part3.wav`, `maria/part4.wav`, `maria/part5_1.wav` …
* a **.zip** or a set of files named `<learner>_part<P>_<N>.wav`, e.g. `tom_part1_1.wav`, `tom_part3.wav`;
* a **CSV manifest** (`learner,part,audio,question,transcript,score`) uploaded together with its audio files, or inside the zip.

`<P>` is the part (1, 3, 4 or 5) and `<N>` the answer number (Parts 1 and 5 take several answers; Parts 3 and 4 one).
WAV, FLAC, OGG and MP3 are accepted. Files that do not fit the scheme are listed, with the reason, and skipped.
"""
CLASS_FILES_LABEL = "Class recordings (.zip, audio files, or a CSV manifest with its audio)"
SESSION_NAME_LABEL = "Session name"
SESSION_NAME_PLACEHOLDER = "e.g. 3B speaking test, March"
ASSESS_CLASS_BUTTON = "Assess the class"
CLASS_TABLE_LABEL = "Class results (scroll the table sideways for every column →)"
# What each column of the class and part tables holds: the header's tooltip, and the key under the class table
# (a phone has no hover). Every column of numbers has one, so no bare number goes unexplained.
COLUMN_HELP = {
    "Overall": "Mean of the assessed parts' scores, 2.0 (A2) to 5.5 (C1+).",
    "Part 1": "Part 1's score, 2.0-5.5 (blank: not assessed).",
    "Part 3": "Part 3's score, 2.0-5.5 (blank: not assessed).",
    "Part 4": "Part 4's score, 2.0-5.5 (blank: not assessed).",
    "Part 5": "Part 5's score, 2.0-5.5 (blank: not assessed).",
    "Graded": "yes: every score comes from trained graders; no: not a grade.",
    "Review": "How many reasons to listen before relying on the result (0: none). Choose the learner below to read them.",
    "Spoke (s)": "Seconds of speech over all the learner's answers.",
    "Syllables/s": "Speech rate: syllables per second from the first word to the last, pauses included.",
    "Long pauses": "Silent pauses of 1 s or more, over all answers.",
    "Speech rate in class": "Where the learner's speech rate stands in this class.",
    "Speech grader": "The speech grader's score for the part, 2.0-5.5.",
    "Multimodal grader": "The multimodal grader's score for the part, 2.0-5.5.",
    "Fusion weight": "Share of the part score taken from the multimodal grader (0 to 1); the rest is the speech grader's.",
    "Part score": "The part's score, 2.0 (A2) to 5.5 (C1+): the graders' scores fused.",
    "How sure": "A range that holds the teacher's mark with the stated probability, or the model's own spread.",
}
CLASS_KEY = "**Columns:** " + " · ".join(f"**{c}**: {COLUMN_HELP[c]}"
                                         for c in ("Review", "Spoke (s)", "Syllables/s", "Long pauses"))
SORT_LABEL = "Sort by"
SORT_ORDERS = {  # key -> what the teacher reads; the key is what result_view.class_rows sorts by
    "assessed": "Order assessed",
    "overall_high": "Overall score, highest first",
    "overall_low": "Overall score, lowest first",
    "name": "Learner name",
    "complete_first": "Complete tests first, provisional ones after",
    "review_first": "Flagged for review first (most reasons first)",
}
DOWNLOAD_CSV = "Download CSV"
CLASS_CHART = "Overall score per learner"
NO_CLASS_FILES = "No files were uploaded: choose a .zip, the audio files or a CSV manifest first."
NO_LEARNERS = "No learner could be found in the upload. {skipped}"
CLASS_PROGRESS = "Learner {k} of {n}: {learner}"
CLASS_RUNNING = "Assessed {k} of {learners}…"
CLASS_DONE = "Assessed {learners}. Session “{name}” is saved."
CLASS_NOT_DONE = ("Assessed {done} of {n}: {left} not yet assessed ({learners}). "
                  "The run was interrupted. {how}")
RESUME_FROM_COPIES = "Their recordings were kept: choose this session and press “Resume this class”."
RESUME_NEEDS_UPLOAD = ("Some of their recordings were not kept: upload the class again (the same files, any names) "
                       "and press “Resume this class”; nobody is assessed twice.")
RESUME_BUTTON = "Resume this class"
RESUME_NO_SESSION = "Choose the interrupted session in “Saved sessions” first, then press “Resume this class”."
RESUME_NO_PLAN = ("“{name}” was saved before class runs kept their list of learners, so it cannot be resumed: "
                  "assess the learners it lacks as a new class.")
RESUME_NOTHING = "Every learner of “{name}” ({n}) is already assessed: there is nothing to resume."
RESUME_UPLOAD_AGAIN = ("The recordings of the learners not yet assessed were not kept: upload the class again "
                       "(the same files) in the box above, then press “Resume this class”. Missing: {learners}")
RESUME_STILL_MISSING = "Still not assessed, their files were not in the upload: {learners}. Upload them to resume."
CLASS_NO_SCORE = "{learners}: no part could be assessed, so there is no score (the table says why)."
CLASS_FAILED_LEARNER = "{learner}: could not be assessed ({error})."
SKIPPED_HEADING = "Files skipped"
SAVED_SESSIONS_LABEL = "Saved sessions"
SAVED_SESSIONS_EMPTY = "No saved sessions yet."
REFRESH_BUTTON = "Refresh"
LEARNER_PICK_LABEL = "Show one learner's details"
RECORDINGS_LABEL = "This learner's recordings"
RECORDING_CHOICE = "Part {part}, answer {n} of {of}{score}"
PLAYER_LABEL = "Listen"
NO_RECORDINGS_KEPT = "No recordings were kept for this learner (retention setting, or saved before recordings were kept)."
SESSION_CHOICE = "{name} · {created} · {learners}"
SINGLE_SESSION_NAME = "Individual assessments {date}"
DEFAULT_CLASS_NAME = "Class session {date}"

# Calibrate tab.
CALIBRATE_INTRO = f"""\
Teach the system your own marking. Give it at least {MIN_EXEMPLARS} parts you have graded yourself (with fewer the
check runs but never finds it helps; 20–40 spread over the levels you teach is better); it listens to each once,
adjusts itself to your marks, and **checks on answers it did not learn from** whether that helps. Save the
result as a named profile and switch it on: every assessment after that says it was calibrated.

**1. Your graded answers**, either way:

* **upload** a CSV manifest (`learner,part,audio,question,transcript,score`, the score being your mark for
  the part) together with its audio files, or one .zip holding both; or
* **pick a saved classroom session**: its recordings were kept, and the table below is filled with the
  system's scores. Correct each mark to your own.

**2. Check the marks** in the table (2.0 to 5.5 in half bands; 2.0 = A2, 5.5 = C1+). Clear a mark to leave
that part out. **3. Fit**, read the evidence, **4. save** the profile and **5. use** it.
"""
CALIBRATE_FILES_LABEL = "Graded answers: CSV manifest with its audio, or a .zip"
CALIBRATE_EXAMPLE_LABEL = "Example graded set (synthetic speech, invented marks)"
CALIBRATE_SESSION_LABEL = "…or a saved classroom session"
LOAD_SESSION_BUTTON = "Load the session"
MARKS_TABLE_LABEL = "Your marks (edit the last column; blank = not graded)"
MARKS_LOADED = "{n} recorded part(s) of {learners} learner(s) loaded from {source}; {graded} have a mark."
MARKS_FROM_SESSION = ("The marks start as the system's scores rounded to the half band: change each to your "
                      "own mark before fitting, or the calibration only learns the system's rounding.")
MARKS_SKIPPED = "Left out of the upload: {skipped}"
NO_SESSION_CHOSEN = "Choose a saved session first."
NO_SESSION_AUDIO = ("The session “{name}” has no kept recordings (it was saved before recordings were kept, "
                    "or no part could be assessed). Upload the graded recordings instead.")
NO_MARKS_LOADED = "Load graded answers first (upload them or pick a saved session)."
PROFILE_NAME_LABEL = "Profile name"
PROFILE_NAME_PLACEHOLDER = "e.g. class-7c-2026"
FIT_BUTTON = "Fit"
FIT_LISTENING = "Listening to {n} graded part(s)"
FIT_CHECKING = "Checking on held-out answers"
EVIDENCE_LABEL = "What the calibration changed, and the evidence"
EVIDENCE_PLACEHOLDER = "Press Fit: the before/after numbers and the verdict appear here."
SAVE_ANYWAY_LABEL = "Save anyway, although the evidence says it does not help"
OVERWRITE_LABEL = "Replace a saved profile of the same name"
SAVE_BUTTON = "Save profile"
NOTHING_FITTED = "Press Fit first: there is nothing to save yet."
SAVE_REFUSED = "✖ Not saved: {reason}. Tick “Save anyway” to keep it regardless."
SAVED = "Saved profile “{name}” in {folder}. Choose it below and press “Use this profile”."
SAVED_ANYWAY = "Saved profile “{name}” in {folder}, although it did not help on its own evidence."
PROFILES_LABEL = "Calibration profile for new assessments"
NO_PROFILE = "None (no calibration)"
USE_PROFILE_BUTTON = "Use this profile"
USING_PROFILE = "New assessments use profile “{name}”. The model panel at the top shows it."
USING_NONE = "New assessments use no calibration."

HELP = """\
### How the scores are made

* **Scale.** Each part is scored from 2.0 (A2) to 5.5 (C1+) in half points; the CEFR label is the nearest half point.
  The overall score is the mean of the parts that could be assessed, and it says which parts those are.
* **Speech grader** (wav2vec 2.0): listens to *how* the learner speaks and compares the recording with one
  prototype per CEFR level; the similarity chart shows how close each part was to each level.
* **Multimodal grader** (Phi-4-multimodal with one LoRA adapter per part): reads the transcript, the question
  and the task, and listens to the audio; it gives a probability for each score.
* **Fusion.** The multimodal score falls into one of eight intervals; each interval has a weight *w* fitted on
  development data, and the part score is (1 − *w*) × speech + *w* × multimodal.
* **Bad recordings** (silent, too short, unreadable, too long) are reported on their part; the other parts are
  still assessed.
* **Every chart in words.** Under each chart, “The chart as text” (for one learner's charts, “The charts as
  text”) says what it shows in sentences and small tables: for a screen reader, a printout or a small screen.

* **Calibration** (Calibrate tab) adjusts the speech grader's level prototypes, each grader's score and the
  fusion weight to a teacher's own marks, for the parts the teacher marked and no others. It is saved only when
  a held-out check shows it helps (or the teacher insists), and it changes scores only once it is in use.

### Privacy: what is kept, where, and for how long

{privacy}
"""

PRIVACY = """\
* **Where.** Everything stays on the machine that runs this app; nothing is sent anywhere else.
  {who}
* **Results** (names, scores, transcripts) are kept in the server's results database until a teacher deletes
  them: pick a session in the Classroom tab and press “Delete this learner” or “Delete this session”.
* **Recordings** are copied beside the results so a past class can be used for calibration; they are
  {recordings}. Deleting a learner or a session deletes their recordings at once.
* **Other copies.** An uploaded zip is unpacked into a temporary folder that is removed as soon as the class has
  been assessed. The transcripts and the calibration listening results are cached by recording; the web
  server keeps each upload in its temporary cache. {caches}
* The files are readable only by the account that runs the app. Downloads (CSV, JSON) are made for you alone.
"""
PRIVACY_SHARED = ("**There is no login on this server: every visitor sees every session.** Ask whoever runs it to "
                  "start it with `--auth`.")
PRIVACY_LOGIN = "Each teacher logs in and sees only their own sessions, recordings and calibration profiles."
CACHES_KEPT = ("These copies are kept like the recordings: until the person who runs the server clears them "
               "(or sets a retention with --keep-recordings).")
CACHES_SWEPT = ("These are deleted on the same schedule as the recordings (at the earliest an hour after they were "
                "made, as another class may be using them).")


def help_text(retention: str, login: bool) -> str:
    """The Help tab, telling the truth about this server's settings (retention in words, login on or off)."""
    kept = retention.startswith("kept until")
    privacy = PRIVACY.format(who=PRIVACY_LOGIN if login else PRIVACY_SHARED, recordings=retention,
                             caches=CACHES_KEPT if kept else CACHES_SWEPT)
    return HELP.format(privacy=privacy)


STORE_LINE = "Results and recordings are saved on this server (Help tab: what is kept, and for how long)."
LOGIN_NEEDED = "Please log in: this server keeps each teacher's results apart."
NO_SUCH_SESSION = "That session is not among your saved sessions (it may have been deleted). Choose one from the list."
CHOOSE_LEARNER_TO_DELETE = "Choose a saved session and a learner first, then press “Delete this learner”."
CHOOSE_SESSION_TO_DELETE = "Choose a saved session first, then press “Delete this session”."
DELETED_LEARNER = ("Deleted {learner}: their result, their recordings and every copy made from them (downloads, "
                   "caches) are gone from this server.")
DELETED_SESSION = ("Deleted the session “{name}” ({learners}) with its recordings and every copy made from them "
                   "(downloads, caches).")
DELETE_LEARNER_BUTTON = "Delete this learner"
DELETE_SESSION_BUTTON = "Delete this session"
CONFIRM_DELETE_LEARNER = "Delete this learner's result and recordings? This cannot be undone."
CONFIRM_DELETE_SESSION = "Delete the whole session, all its results and recordings? This cannot be undone."
PROFILE_EXISTS = "A profile named “{name}” already exists among yours (tick “{overwrite}” to replace it)."
OPEN_SERVER_WARNING = ("This server has no login and can be reached from other machines: everyone who opens it sees "
                       "every teacher's sessions, children's names, scores and recordings. Start it with --auth.")
LOGIN_MESSAGE = "Log in with the name and password your school gave you. Each teacher sees only their own classes."
QUEUE_FULL = "The server is busy: too many assessments are waiting. Please try again in a minute."

FOOTER = (
    "Research demo after NTNU's Speak & Improve 2025 system (arXiv 2506.05121). "
    "Not a certified test: use the results as feedback, not as a qualification."
)


# -- the server's intake, downloads and the delete endpoints (sla_core.teacher.intake, downloads, api_tab) --
INTAKE_TITLE = "File not accepted"
INTAKE_NOT_A_FILE = ("{what}: send the recording itself as an uploaded file (on the page: drop it in the box; "
                     "from a program: gradio_client.handle_file(\"answer.wav\")), not a file name or text.")
INTAKE_REFUSED = ("{what}: “{name}” is not a file you uploaded here, so the server does not read it. Upload the "
                  "recording itself (on the page: drop it in the box; from a program: "
                  "gradio_client.handle_file(\"answer.wav\") uploads it) and try again.")
INTAKE_GONE = ("{what}: “{name}” is no longer on the server (an upload is removed once its class is assessed, and "
               "by the keep-recordings rule). Upload it again.")
INPUT_NOT_READ = ("The server could not read this call's inputs: send each recording as an uploaded file (from a "
                  "program: gradio_client.handle_file(\"answer.wav\")), names as text and session ids as numbers, "
                  "in the order the API page lists them.")
INPUT_PATH_REFUSED = ("A file was named by a path on the server instead of being uploaded, so the server does not "
                      "read it. Upload the recording itself (on the page: drop it in the box; from a program: "
                      "gradio_client.handle_file(\"answer.wav\") uploads it) and try again.")
SLOT_NAME = "Part {part}, answer {n}"
CLASS_FILES_WHAT = "Class recordings"
UPLOAD_REFUSED_TITLE = "Upload refused: nothing was assessed or saved"
SKIPPED_MORE = "\n* … and {n} more"
FILE_NOT_YOURS = ("This file is not available to you. Downloads and recordings are served only to the teacher who "
                  "opened them, for 10 minutes: open the session or the learner again for a fresh link.")
CONFIRM_WORD = "delete"
API_CONFIRM_NEEDED = ("Nothing was deleted: to delete, pass confirm=\"delete\" (deletion removes the results, "
                      "recordings and every copy for good).")
API_NO_SUCH_LEARNER = "Nothing was deleted: session “{session}” of yours has no learner named “{learner}”."
API_SESSION_AMBIGUOUS = ("Nothing was deleted: {n} of your sessions are named “{session}” (ids {ids}); pass the "
                         "session's id instead.")
API_DELETED = "Deleted {what} and every copy of their recordings: {results} result(s) removed."


def learners(n: int) -> str:
    """ "1 learner", "2 learners", "0 learners"."""
    return f"{n} learner" if n == 1 else f"{n} learners"


FAILED_TITLE = "{action}: not done"
UNEXPECTED = ("Something went wrong inside the app ({kind}: {message}). Nothing you entered is lost: "
              "try again, and if it happens again, note what you did and tell whoever runs this app "
              "(its log has the details).")


def error_text(error: BaseException) -> str:
    """The message to show for `error`, HTML-escaped: the one boundary between exceptions and the page.

    Errors about the input (ValueError and its kin, e.g. sla_core.audio.AudioIssue, FileNotFoundError)
    carry a message written for the user and are shown as they are; anything else is a bug, shown with
    its type and what to do, so that a teacher is never left with a bare "Error".
    """
    message = hide_paths(str(error).strip().strip("'\"") or type(error).__name__)
    if not isinstance(error, (ValueError, FileNotFoundError, KeyError, LookupError)):
        message = UNEXPECTED.format(kind=type(error).__name__, message=message)
    return html.escape(message)


_SERVER_PATH = re.compile(r"(?<![\w.])(?:/[^\s/'\"():,;]+)+/([^\s/'\"():,;]+)")


def hide_paths(message: str) -> str:
    """A message with every absolute server path cut to its file name: visitors need the name, not the folder."""
    return _SERVER_PATH.sub(lambda m: m.group(1), message)
