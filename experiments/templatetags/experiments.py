"""`{% variant "key" as v %}`: the variant of an experiment the fan asking sees, for pages.

The template then branches on `v.variant` (the variant's key) or reads `v.payload`. Showing
the page records the exposure. An unknown experiment, or a page rendered without a request,
gives the control-less answer `v.variant == ""` and a warning in the log, never an error
page: a typo in a template must not take the page down.
"""

import logging

from django import template

from mysetlist.core.exceptions import NotFoundError

from .. import services

register = template.Library()
logger = logging.getLogger(__name__)


@register.simple_tag(takes_context=True)
def variant(context, key: str, expose: bool = True) -> services.Assignment:
    request = context.get("request")
    if request is None:
        logger.warning("{%% variant %r %%} rendered without a request", key)
        return _none(key, "no request")
    try:
        return services.request_variant(request, key=key, expose=expose)
    except NotFoundError:
        logger.warning("{%% variant %r %%}: there is no such experiment", key)
        return _none(key, "unknown experiment")


def _none(key: str, reason: str) -> services.Assignment:
    return services.Assignment(
        experiment=key, variant="", position=-1, payload={}, in_experiment=False, reason=reason
    )
