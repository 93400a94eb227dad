"""`make run`'s demo plays through on the test stack: a membership sold and used over Kafka, its SMS and
delivery receipt, then an Altegio branch connected to the gateway whose real webhook (a no-show) ends in a
deduction and an SMS. Each step waits for its effect and fails the demo when it does not come."""

from __future__ import annotations

import pytest

from deploy import demo
from tests.integration.conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_make_run_demo_plays_through(stack: Stack, gateway: str, capsys: pytest.CaptureFixture[str]) -> None:
    await demo.play(stack.settings, stack.urls())
    out = capsys.readouterr().out
    assert "status=delivered" in out
    assert '"send_before":' in out and '"segments": 1' in out and '"encoding": "gsm7"' in out
    assert "8. the no-show deducted a visit by loc-almaty's policy" in out
    assert "type=membership.deducted: Вячослав, 1 visit was deducted from membership 7001; 4 left." in out
