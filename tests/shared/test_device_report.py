"""The device report header's documented grammar (device_report.PATTERN, in the API's document)
is never looser than decode(): whatever matches it decodes, and whatever encode() writes
matches it."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shared import device_report
from shared import protocol as p
from shared.device_report import PATTERN, DeviceReport, KindCounts, decode

COUNTS = st.integers(0, device_report.MAX_COUNT)


@given(st.from_regex(PATTERN, fullmatch=True).filter(lambda t: len(t) <= device_report.MAX_LENGTH))
def test_every_header_the_document_allows_is_accepted(text: str) -> None:
    report = decode(text)
    assert report.encode() == decode(report.encode()).encode()


@given(
    st.integers(0, 10**18 - 1),
    st.dictionaries(st.sampled_from(p.FIELD_KINDS), st.tuples(*[COUNTS] * 5)),
)
def test_what_a_device_sends_matches_the_documented_grammar(
    cursor: int, kinds: dict[str, tuple[int, int, int, int, int]]
) -> None:
    report = DeviceReport(cursor, {kind: KindCounts(*counts) for kind, counts in kinds.items()})
    assert re.search(PATTERN, report.encode()), report.encode()


def test_the_grammar_refuses_what_decode_refuses() -> None:
    for text in ("", "session=1", "c=1,c=2", "c=1,session=1/2/3/4/5/6", "c=-1", "c=١", "c=1,x=1"):
        assert re.search(PATTERN, text) is None, text
