"""No input makes a service answer 500, and every answer is one its OpenAPI document declares: schemathesis
generates requests from each service's document (valid and invalid bodies, odd strings such as NUL and
lone surrogates, huge numbers) against the real service, on a chain whose key it holds, and checks each
answer's status code, content type and body against the document (the refusals included: 400, 401,
404, 409, 422 and 503 are declared on every route, shared.errors.ERROR_RESPONSES)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import SERVICES, Chain

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")


@pytest.mark.parametrize("service", SERVICES)
async def test_no_request_makes_a_service_answer_500_or_off_its_document(chain: Chain, service: str,
                                                                        tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"chain_id" = "{chain.id}"\n')  # the chain the key opens
    run = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "run",
        f"{chain.stack.url(service)}/openapi.json", "-H", f"Authorization: Bearer {chain.key}",
        "--checks", ",".join(CHECKS), "--max-examples", "15", "--phases", "examples,fuzzing",
        "--seed", "20261123", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
    )
    out, _ = await asyncio.wait_for(run.communicate(), 300)
    report = out.decode(errors="replace")
    assert run.returncode == 0, report[-8000:]
    assert " passed" in report and "generated" in report
