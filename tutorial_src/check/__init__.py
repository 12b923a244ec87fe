"""Exercise checkers: ``from tutorial_src import check`` then ``check.<exercise>(answer)`` in a notebook.

Each notebook's checkers live in their own module (``nb01`` … ``nb09``) and are re-exported here.
"""

from ._core import NOT_YET_PREFIX, PASSED_PREFIX, CheckResult
from .nb01 import *  # noqa: F403
from .nb02 import *  # noqa: F403
from .nb03 import *  # noqa: F403
from .nb04 import *  # noqa: F403
from .nb05 import *  # noqa: F403
from .nb06 import *  # noqa: F403
from .nb09 import *  # noqa: F403
