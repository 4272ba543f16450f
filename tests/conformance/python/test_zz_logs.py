"""Runs last (files run in name order): no secret reached the server's log."""

import os
import re

import pytest

SECRET_PATTERN = re.compile(rb"(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{12,}|whsec_[A-Za-z0-9]{12,}")


def test_the_server_log_holds_no_secret(server):
    if not server.log_path:
        pytest.fail("set MERCATO_SERVER_LOG to the file holding the server's stderr", pytrace=False)
    assert os.path.isfile(server.log_path), f"{server.log_path} does not exist"
    with open(server.log_path, "rb") as handle:
        log = handle.read()

    assert server.test_key.encode() not in log
    assert server.live_key.encode() not in log
    leaked = sorted({match.decode() for match in SECRET_PATTERN.findall(log)})
    assert leaked == [], f"secrets in {server.log_path}: {leaked}"
