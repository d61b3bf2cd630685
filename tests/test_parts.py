import pytest

from sla_core.parts import PART_INFO, PARTS, part_info


def test_the_four_parts():
    assert PARTS == (1, 3, 4, 5)
    assert [PART_INFO[p].name for p in PARTS] == ["Interview", "Opinion", "Presentation", "Communication Activity"]


@pytest.mark.parametrize("part, answers, context", [(1, 6, True), (3, 1, False), (4, 1, False), (5, 5, True)])
def test_answers_per_part(part, answers, context):
    info = part_info(part)
    assert info.max_answers == answers == len(info.questions)
    assert info.speaker_context is context
    assert info.task


@pytest.mark.parametrize("bad", [2, 6, "x", None])
def test_unknown_part_names_the_valid_ones(bad):
    with pytest.raises(ValueError, match="1, 3, 4, 5"):
        part_info(bad)
