"""The names people read for codes, in their language: one place for every page, email,
artifact, log line and CLI table.

Codes (`marketing`, `presentation-skills`, `active`) belong in URLs, tags, keys and storage;
what a person reads is the catalog's name (市场部, 演讲技巧) or the Babel catalogs' word for
one of Jieli's own states, roles, causes and criteria (进行中, 新员工, 资料未交付, 实操).
A code without a name (a cause a company added to its rules) is shown as it is, so nothing
disappears.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.catalog import Catalog
from tasks.i18n import N_, gettext, normalize_locale

ROLES = {"hr": N_("HR"), "owner": N_("Materials owner"), "reviewer": N_("Reviewer"),
         "appraiser": N_("Appraiser"),
         "hire": N_("New hire"), "boss": N_("Boss")}
# Who answers for a finding, beyond the departments: the hire, or nobody the rules found.
PARTIES = {"hire": N_("New hire"), "boss": N_("Boss"), "unattributed": N_("Not attributed")}
RUN_STATES = {"active": N_("In progress"), "completed": N_("Completed"),
              "cancelled": N_("Cancelled")}
STUDY_STATES = {"waiting": N_("Waiting for the materials"), "assigned": N_("Studying"),
                "passed": N_("Quiz passed"), "failed": N_("Quiz failed, no attempts left")}
OUTBOX_STATES = {"pending": N_("Waiting to be sent"), "sending": N_("Sending"),
                 "sent": N_("Sent"), "failed": N_("Could not be sent")}
CAUSES = {"content-not-delivered": N_("Materials never handed off"),
          "onboarding-started-late": N_("Onboarding started late"),
          "content-late": N_("Materials handed off late"),
          "training-incomplete": N_("Training not finished"),
          "quiz-failed": N_("Quiz not passed"),
          "coaching-not-given": N_("Coaching sessions not given"),
          "assignment-not-submitted": N_("Assignment not handed in"),
          "review-not-done": N_("Assignment not graded"),
          "assignment-failed": N_("Assignment below the pass mark"),
          "practice-coaching": N_("Not enough hands-on coaching"),
          "expression": N_("Weak presentation skills"),
          "unattributed": N_("No rule matched")}
MODULE_KINDS = {"general": N_("General"), "professional": N_("Professional")}
CRITERIA = {"practice": N_("Practice"), "content": N_("Content"), "delivery": N_("Delivery")}
SESSION_ANSWERS = {"pending": N_("not yet confirmed by the hire"),
                   "confirmed": N_("confirmed by the hire"),
                   "disputed": N_("disputed by the hire: did not take place")}


@dataclass(frozen=True)
class Names:
    """Names for codes in one language; the catalog is read when a name is asked for."""

    locale: str
    catalog: Catalog | None = None

    def _catalog(self) -> Catalog:
        if self.catalog is not None:
            return self.catalog
        from tasks.env import get_catalog  # here: tasks.env reads the settings

        return get_catalog()

    @property
    def lang(self) -> str:
        return normalize_locale(self.locale)

    def _(self, message: str) -> str:
        return gettext(self.lang, message)

    def department(self, code: str) -> str:
        found = self._catalog().departments.get(code)
        return found.name.get(self.lang) if found else self.party(code)

    def module(self, code: str) -> str:
        found = self._catalog().modules.get(code)
        return found.title.get(self.lang) if found else code

    def modules(self, codes: Iterable[str]) -> str:
        return self.join(self.module(c) for c in codes)

    def position(self, code: str) -> str:
        found = self._catalog().positions.get(code)
        return found.title.get(self.lang) if found else code

    def appraisal_item(self, code: str, position: str | None = None) -> str:
        """An appraisal item's title, from `position` or else from any position having it."""
        positions = self._catalog().positions
        for p in [positions[position]] if position in positions else positions.values():
            for item in p.appraisal.items:
                if item.code == code:
                    return item.title.get(self.lang)
        return code

    def party(self, code: str) -> str:
        """Who a leg waits on or a finding names: a department, the hire, the boss."""
        if code in self._catalog().departments:
            return self.department(code)
        return self._(PARTIES[code]) if code in PARTIES else code

    def member(self, party: str, person: str) -> str:
        """A person with their side: 市场部 李娜 / Li Na (Marketing); 新员工 张伟."""
        return self._("%(party)s %(who)s") % {"party": self.party(party), "who": person}

    def role(self, code: str) -> str:
        return self._(ROLES[code]) if code in ROLES else code

    def run_state(self, code: str) -> str:
        return self._(RUN_STATES[code]) if code in RUN_STATES else code

    def study_state(self, code: str) -> str:
        return self._(STUDY_STATES[code]) if code in STUDY_STATES else code

    def outbox_state(self, code: str) -> str:
        return self._(OUTBOX_STATES[code]) if code in OUTBOX_STATES else code

    def cause(self, code: str) -> str:
        return self._(CAUSES[code]) if code in CAUSES else code

    def session_answer(self, code: str) -> str:
        return self._(SESSION_ANSWERS[code]) if code in SESSION_ANSWERS else code

    def module_kind(self, code: str) -> str:
        return self._(MODULE_KINDS[code]) if code in MODULE_KINDS else code

    def criterion(self, code: str) -> str:
        return self._(CRITERIA[code]) if code in CRITERIA else code

    def join(self, names: Iterable[str]) -> str:
        """A list as the language writes it: 市场部、技术部 / Marketing, Technology."""
        return (", " if self.lang == "en" else "、").join(names)


def names(locale: str, catalog: Catalog | None = None) -> Names:
    return Names(normalize_locale(locale), catalog)
