"""A run's artifacts in Prefect: one per kind, changed in place only when its content changes.

Prefect keeps every `create_*_artifact` call as a new card, so a run that publishes on each
pass would pile up near-identical cards; and a key shared by two installations (a demo and
the real one) would mix their histories. Keys therefore carry the run's unique id, and an
artifact already on the flow run is updated, not created again.
"""

from __future__ import annotations

from uuid import UUID

from prefect.artifacts import update_progress_artifact
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
)
from prefect.client.schemas.objects import Artifact
from prefect.client.schemas.sorting import ArtifactSort

from storage.models import Run
from tasks.runs import prefect_client


def artifact_key(run: Run, kind: str) -> str:
    """`jieli-<uid>-<kind>`: unique beyond this installation, unlike the run's number."""
    return f"jieli-{run.uid or f'run-{run.id}'}-{kind}"


def latest_artifact(client: SyncPrefectClient, flow_run_id: UUID, key: str) -> Artifact | None:
    """The newest artifact with `key` on the flow run, if any."""
    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]),
                                       flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])),
        sort=ArtifactSort.CREATED_DESC, limit=1)
    return found[0] if found else None


def publish_markdown(*, flow_run_id: str, key: str, markdown: str, description: str) -> bool:
    """Create the run's markdown artifact or update it in place; True when it changed."""
    run = UUID(flow_run_id)
    with prefect_client() as client:
        latest = latest_artifact(client, run, key)
        if latest is None:
            client.create_artifact(ArtifactCreate(key=key, type="markdown", data=markdown,
                                                  description=description, flow_run_id=run))
            return True
        if latest.data == markdown and latest.description == description:
            return False
        client.update_artifact(latest.id, ArtifactUpdate(data=markdown,
                                                         description=description))
        return True


def publish_progress(*, flow_run_id: str, key: str, progress: float, description: str) -> bool:
    """Create the run's progress artifact or move it in place; True when it changed."""
    run = UUID(flow_run_id)
    progress = round(min(max(progress, 0.0), 100.0), 1)
    with prefect_client() as client:
        latest = latest_artifact(client, run, key)
        if latest is None:
            client.create_artifact(ArtifactCreate(key=key, type="progress", data=progress,
                                                  description=description, flow_run_id=run))
            return True
        if latest.data == progress and latest.description == description:
            return False
        # Inside prefect_client(): Prefect's own client then talks to Jieli's server too.
        update_progress_artifact(latest.id, progress, description)
        return True
