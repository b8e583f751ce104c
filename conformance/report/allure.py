"""Allure metadata and failure evidence for each conformance check.

Only used while allure-pytest's listener is active (`--alluredir`); the `allure` import is deferred so
the gate works without allure-pytest installed.
"""

from __future__ import annotations

import json

import pytest

from conformance.evidence import RunRecord

ALLURE_LISTENER = "allure_listener"  # the name allure-pytest registers its listener under


def allure_active(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin(ALLURE_LISTENER)


def label_check(record: RunRecord) -> None:
    """Labels that let Allure group the run: by provider (suite), wire (epic), family (feature), check (story)."""
    import allure

    allure.dynamic.parent_suite(record.provider)
    allure.dynamic.suite(record.family)
    allure.dynamic.epic(f"wire: {record.wire}")
    allure.dynamic.feature(record.family)
    allure.dynamic.story(record.check)
    allure.dynamic.label("provider", record.provider)
    allure.dynamic.label("wire", record.wire)
    allure.dynamic.label("check", record.check)
    allure.dynamic.tag(record.provider, record.wire, record.mode)
    if record.title:
        allure.dynamic.title(record.title)
    if record.description:
        allure.dynamic.description(record.description)


def attach_evidence(record: RunRecord) -> None:
    """What a reader needs to see why the check failed, next to the failure."""
    import allure

    kind = allure.attachment_type
    if record.validator_message:
        allure.attach(record.validator_message, name="validator message", attachment_type=kind.TEXT)
    if record.events:
        allure.attach(_json(record.events), name="event sequence", attachment_type=kind.JSON)
    if record.requests:
        allure.attach(_json(record.requests), name="requests sent", attachment_type=kind.JSON)
    if record.cassette:
        allure.attach(f"{record.cassette} ({record.mode})", name="cassette", attachment_type=kind.TEXT)


def _json(value: object) -> str:
    # Events can hold values JSON does not know (bytes, exceptions); show them rather than fail the report.
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)
