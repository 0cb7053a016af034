from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


def get_paginated_response(*, serializer_class, queryset, request, view):
    """Paginate a queryset with the view's pagination class, the one its schema documents,
    and serialize one page."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
