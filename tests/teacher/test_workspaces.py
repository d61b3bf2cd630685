"""Teachers' workspaces through the real handlers: profiles, the active profile and sessions are each
teacher's own, the profile is chosen per call (never switched for everybody), and survives a restart."""

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
app = importlib.import_module("app")

from sla_core.assess import AssessorConfig, load_assessor  # noqa: E402
from sla_core.calibration import EmbeddingCache  # noqa: E402
from sla_core.results.store import ResultStore  # noqa: E402
from sla_core.testing.uploads import as_uploads  # noqa: E402
from sla_core.teacher import ui_text  # noqa: E402
from sla_core.teacher.calibration_desk import CalibrationDesk  # noqa: E402
from sla_core.testing.calibration import write_graded_manifest  # noqa: E402

MARKS = (2.5, 3.5, 4.5) * 4
ANA, BEN = SimpleNamespace(username="ana"), SimpleNamespace(username="ben")


@pytest.fixture(scope="module")
def assessor():
    return load_assessor(AssessorConfig(tiny=True, mllm="off"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("graded")
    return write_graded_manifest(root / "good", MARKS), root / "cache"


def make_handlers(assessor, graded, root: Path):
    desk = CalibrationDesk(assessor, profiles_root=root / "profiles", cache=EmbeddingCache(graded[1]))
    return app.Handlers(assessor.assess_submission, assessor.status, ResultStore(root / "r.sqlite"),
                        workdir=root / "work", calibration=desk, login=True,
                        uploads=as_uploads(root, graded[0].parent))


def raw_json(outputs) -> dict:
    """The raw JSON panel's value among the result panel's outputs (its position moves as panels are added)."""
    return next(o for o in outputs if isinstance(o, dict) and "calibration" in o)


def part3_only(path: Path) -> list:
    return [str(path) if s == (3, 0) else None for s in app.SLOTS]


@pytest.mark.slow
def test_a_profile_is_one_teachers_own_and_survives_a_restart(assessor, graded, tmp_path):
    h = make_handlers(assessor, graded, tmp_path)
    manifest = graded[0]
    rows, table, _ = h.calibration_upload([str(manifest), *map(str, sorted(manifest.parent.glob("*.wav")))],
                                          request=ANA)
    result, *_ = h.calibration_fit(rows, table, "ana-7c", None, request=ANA)
    h.calibration_save(result, "ana-7c", True, False, request=ANA)
    h.calibration_use("ana-7c", request=ANA)

    assert [c[1] for c in h.profiles_update(request=BEN)["choices"]] == [app.NO_PROFILE]  # ben has none
    with pytest.raises(gr.Error):
        h.calibration_use("ana-7c", request=BEN)  # not even by name
    answer = manifest.parent / "learner00_part3.wav"
    ana_raw = raw_json(h.assess_one("Zoe", *part3_only(answer), request=ANA))
    ben_raw = raw_json(h.assess_one("Zoe", *part3_only(answer), request=BEN))
    assert ana_raw["calibration"] == "ana-7c" and ben_raw["calibration"] is None
    assert assessor.calibration is None  # the shared graders were never switched for everybody
    assert "ana-7c" in h.status_update(request=ANA)[0] and "ana-7c" not in h.status_update(request=BEN)[0]

    again = make_handlers(assessor, graded, tmp_path)  # a restart: new objects on the same files
    assert again.profiles_update(request=ANA)["value"] == "ana-7c"
    assert raw_json(again.assess_one("Zoe", *part3_only(answer), request=ANA))["calibration"] == "ana-7c"
    assert [c[0] for c in again.sessions_update(request=BEN)["choices"]][0].startswith("Individual")
    assert len(again.sessions_update(request=ANA)["choices"]) == 1  # ben's day session is not listed to ana


def test_with_login_on_a_call_without_a_user_is_refused(assessor, graded, tmp_path):
    h = make_handlers(assessor, graded, tmp_path)
    with pytest.raises(gr.Error, match="log in"):
        h.sessions_update(request=SimpleNamespace(username=None))
    with pytest.raises(gr.Error, match="log in"):
        h.assess_one("Zoe", *part3_only(ROOT / "assets" / "example_learner" / "part3.wav"))


@pytest.mark.slow
def test_another_teachers_session_is_invisible_to_every_handler(assessor, graded, tmp_path):
    h = make_handlers(assessor, graded, tmp_path)
    list(h.assess_class([str(ROOT / "assets" / "example_class.zip")], "ana's class", request=ANA))
    session = h.store.as_owner("ana").sessions()[0].id
    for call in (lambda: h.open_session(session, request=BEN), lambda: h.show_learner(session, 0, request=BEN),
                 lambda: h.delete_learner(session, 0, request=BEN), lambda: h.delete_session(session, request=BEN),
                 lambda: h.calibration_session(session, request=BEN)):
        with pytest.raises(gr.Error, match=ui_text.NO_SUCH_SESSION[:30]):
            call()
    assert h.store.as_owner("ana").session(session).n_results == 3
    assert h.sessions_update(request=BEN)["choices"] == []
