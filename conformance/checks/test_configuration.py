"""Configuration API: get_config/update_config behave, unknown keys are refused, construction is offline."""

from __future__ import annotations

import warnings

import pytest

pytestmark = pytest.mark.family("configuration")


@pytest.mark.cases()
def test_get_config_reports_model_id(conformance_run):
    """get_config() is a dict holding the model_id the provider was built with.

    Severity: should -- configuration hygiene: the loop streams without get_config; telemetry and
    users read the model id from it.
    """
    config = conformance_run.model().get_config()
    assert isinstance(config, dict), f"get_config returned {type(config).__name__}"
    assert config.get("model_id") == conformance_run.model_id, f"get_config()['model_id'] is {config.get('model_id')!r}"


@pytest.mark.cases()
def test_update_config_round_trip(conformance_run):
    """update_config(model_id=...) is visible in get_config().

    Severity: should -- configuration hygiene: the agent loop never calls update_config itself.
    """
    model = conformance_run.model()
    model.update_config(model_id="renamed-model")
    assert model.get_config().get("model_id") == "renamed-model"


@pytest.mark.cases()
def test_update_config_rejects_unknown_key(conformance_run):
    """An unknown configuration key raises an error naming the key (not silently stored or ignored).

    Severity: should -- configuration hygiene: the SDK's own providers only warn on an unknown key, by design.
    """
    model = conformance_run.model()
    # A provider that only warns is judged here, by the failure message: its warning must not leak into the run.
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            model.update_config(definitely_not_a_setting=1)
        except Exception as error:  # noqa: BLE001 - any error type is accepted, as long as it names the key
            assert "definitely_not_a_setting" in str(error), f"the error does not name the key: {error}"
            return
    said = f"; it only warned: {warned[0].message}" if warned else ""
    pytest.fail(f"update_config(definitely_not_a_setting=1) raised nothing{said}")


@pytest.mark.cases()
def test_constructor_makes_no_request(conformance_run):
    """Building the provider sends nothing over the network (strands-neuron probes the server here).

    Severity: should -- configuration hygiene: a request at construction blocks and fails offline,
    but streaming is unaffected.
    """
    conformance_run.model()
    assert conformance_run.sent == [], f"the constructor sent {[(r.method, r.url) for r in conformance_run.sent]}"


@pytest.mark.cases("text_basic")
@pytest.mark.asyncio
async def test_updated_sampling_reaches_request(conformance_run):
    """A sampling setting changed with update_config is in the next request body.

    Severity: must -- the caller's setting is lost: the model samples with other settings than asked.
    """
    model = conformance_run.model()
    model.update_config(**conformance_run.provider.params_to_config({"temperature": 0.25}))
    await conformance_run.stream(model)
    sent = conformance_run.sent_meaning().params
    assert sent.get("temperature") == 0.25, f"sampling parameters in the request: {sent}"
