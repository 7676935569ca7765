"""Assignment: the rule that joins a job or task to a project, on both sides.

Both aggregates record the change, so saving them together makes the decision
conflict with any concurrent change to either: another assignment of the same
job, or the deletion of the project.
"""

from domain.errors import IncompleteMembersError, WorkspaceMismatchError
from domain.job import Job
from domain.project import Project
from domain.task import Task


def assign_job(project: Project, job: Job, *, actor_id: str) -> bool:
    """Put `job` into `project`; return False when it already was there."""
    _require_same_workspace(project, job.id, job.workspace_id)
    project.require_alive()
    if job.project_id == project.id:
        return False
    job.assign(actor_id=actor_id, project_id=project.id)
    project.add_job(actor_id=actor_id, job_id=job.id)
    return True


def unassign_job(project: Project, job: Job, *, actor_id: str) -> None:
    """Take `job` out of `project`."""
    _require_same_workspace(project, job.id, job.workspace_id)
    project.require_alive()
    job.unassign(actor_id=actor_id, project_id=project.id)
    project.remove_job(actor_id=actor_id, job_id=job.id)


def assign_task(project: Project, task: Task, *, actor_id: str) -> bool:
    """Put `task` into `project`; return False when it already was there.

    An archived task is refused even when it already is in the project.
    """
    _require_same_workspace(project, task.id, task.workspace_id)
    project.require_alive()
    if task.project_id == project.id and not task.is_archived:
        return False
    task.assign(actor_id=actor_id, project_id=project.id)
    project.add_task(actor_id=actor_id, task_id=task.id)
    return True


def unassign_task(project: Project, task: Task, *, actor_id: str) -> None:
    """Take `task` out of `project`."""
    _require_same_workspace(project, task.id, task.workspace_id)
    project.require_alive()
    task.unassign(actor_id=actor_id, project_id=project.id)
    project.remove_task(actor_id=actor_id, task_id=task.id)


def delete_project(
    project: Project, jobs: list[Job], tasks: list[Task], *, actor_id: str
) -> None:
    """Delete `project` and release every member, which must all be given."""
    given_jobs = {job.id for job in jobs}
    given_tasks = {task.id for task in tasks}
    if given_jobs != project.job_ids or given_tasks != project.task_ids:
        raise IncompleteMembersError(project.id)
    for job in jobs:
        job.unassign(actor_id=actor_id, project_id=project.id)
    for task in tasks:
        task.unassign(actor_id=actor_id, project_id=project.id)
    project.delete(actor_id=actor_id)


def _require_same_workspace(project: Project, resource_id: str, workspace: str) -> None:
    if workspace != project.workspace_id:
        raise WorkspaceMismatchError(resource_id, project.workspace_id)
