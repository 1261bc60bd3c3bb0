"""The `start-onboarding` deployment: HR or the boss starts a hire from Prefect's run form.

Its parameter is a typed model, so that Prefect's form offers the catalog's positions as a
choice list and the first working day as a date. It calls the same start function as HR's
web form and `jieli hire`, held to the same permission matrix: `requested_by` names the
person who asks, and a refusal fails the run and is audited with via "prefect".
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from prefect import flow, get_run_logger
from prefect.deployments.runner import RunnerDeployment
from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue

from flows.process_title import name_the_process
from storage.settings import get_settings
from tasks.env import get_catalog
from tasks.i18n import N_, gettext, normalize_locale
from tasks.runs import start_onboarding, ui_url


class CatalogPosition:
    """A position code, whose schema lists the catalog's positions: read when the schema is
    made (when the runner applies the deployment), not when this module is imported."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        positions = get_catalog().positions
        schema["enum"] = sorted(positions)
        # Prefect's choice list shows codes: the description gives each one's name.
        lang = normalize_locale(get_settings().default_locale)
        schema["description"] = "; ".join(f"{code}: {positions[code].title.get(lang)}"
                                          for code in sorted(positions))
        return schema


FORM_DESCRIPTION = N_("Fill in the new hire. Jieli then asks each department for its "
                      "materials and sends the hire study links as they arrive.")
PARAMETER_TITLES = {
    "hire": N_("New hire"),
    "requested_by": N_("Your email (you start the hire as this person)"),
}
FIELD_TITLES = {
    "name": N_("Hire's name"),
    "email": N_("Hire's email"),
    "position": N_("Position"),
    "start": N_("First working day"),
    "language": N_("Language of the hire's emails and pages"),
}


def _titles(schema: dict[str, Any]) -> None:
    """The form's labels, in the installation's language."""
    locale = get_settings().default_locale
    schema["title"] = gettext(locale, PARAMETER_TITLES["hire"])
    schema["description"] = gettext(locale, FORM_DESCRIPTION)
    for field, title in FIELD_TITLES.items():
        schema["properties"][field]["title"] = gettext(locale, title)


class NewHire(BaseModel):
    """A hire to onboard, as Prefect's run form asks for it."""

    model_config = ConfigDict(json_schema_extra=_titles)  # type: ignore[typeddict-item]

    name: str
    email: str
    position: Annotated[str, CatalogPosition]
    start: date
    language: Literal["zh_CN", "en"] = "zh_CN"


@flow(name="start-onboarding")
def start_hire(hire: NewHire, requested_by: str) -> int:
    """Start the hire's onboarding run as `requested_by` (HR's or the boss's address)."""
    name_the_process("start-onboarding")
    started = start_onboarding(name=hire.name, email=hire.email, position=hire.position,
                               start=hire.start, locale=hire.language, by_email=requested_by,
                               via="prefect")
    link = ui_url(started.flow_run_id) if started.flow_run_id else "-"
    get_run_logger().info("run #%s started for %s: %s", started.run_id, hire.name, link)
    return started.run_id


def start_deployment() -> RunnerDeployment:
    """The `start-onboarding` deployment, its run form labelled in the installation's language.

    Prefect titles a flow's own parameters by their names; the labels are set on the schema it
    sends to the server (the server checks every run's parameters against that schema).
    """
    deployment: RunnerDeployment = start_hire.to_deployment(  # type: ignore[assignment]
        name="start-onboarding", tags=["start"])
    locale = get_settings().default_locale
    for name, title in PARAMETER_TITLES.items():
        deployment._parameter_openapi_schema.properties[name]["title"] = gettext(locale, title)
    return deployment
