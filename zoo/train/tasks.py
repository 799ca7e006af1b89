"""The registry of training tasks: `python -m zoo.train TASK` looks one up here.

Below the engine and the summary, which both read it (neither imports the
other for it).

Example:
>>> sorted(TASKS)
['chatbot', 'traffic']
>>> get_task("traffic").name
'traffic'
"""

from zoo.errors import ZooError
from zoo.train.chatbot_task import ChatbotTask
from zoo.train.traffic_task import TrafficTask

TASKS = {task.name: task for task in (TrafficTask(), ChatbotTask())}


def get_task(name):
    """The task called `name`.

    Args:
        name: str, a key of `TASKS`.

    Returns:
        The task object (see `zoo.train.task.Task`).

    Raises:
        ZooError: an unknown name, with the known ones.
    """
    if name not in TASKS:
        raise ZooError(f"unknown task {name!r}; choose from {sorted(TASKS)}")
    return TASKS[name]
