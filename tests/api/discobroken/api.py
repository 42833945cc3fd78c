"""An api module whose own import fails: discovery must say which module broke."""

import a_module_that_does_not_exist_anywhere  # noqa: F401
