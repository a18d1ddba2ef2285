"""The review wizard: a task list, one step per theme, the evidence register, live gaps, sign-off.

Every change is saved as soon as it is made (no lost work); the gap panel is drawn after the
step so it always shows the report for what is now stored.
"""

from closure_readiness.views.review.page import page

__all__ = ["page"]
