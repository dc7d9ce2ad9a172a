"""The page classes every app's views build on."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django.views.generic import ListView

from core.exports import exports, sync_max_rows
from core.querystring import params_of, without_page
from core.responses import attachment

from .filters import build_filterset, filtered

PAGE_SIZE = 20


class ScopedViewMixin(LoginRequiredMixin):
    """Pages read their rows only through ``Model.objects.visible_to(user)``."""

    model = None

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user)


class FilteredListView(ScopedViewMixin, ListView):
    """A list page over ``filterset_class``: the same filterset, built the same way, as the
    page's export (``core.web.filters.build_filterset``)."""

    filterset_class = None
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        self.filterset = build_filterset(self.filterset_class, self.request.user, self.request.GET)
        return filtered(self.filterset)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(filter=self.filterset, querystring=without_page(self.request.GET))
        return context


class ListExportView(LoginRequiredMixin, View):
    """A list page's 导出 Excel: the page's filters (its query string) and the user's scope,
    identity numbers masked unless the role may see them. Up to EXPORT_SYNC_MAX_ROWS rows the
    file is sent at once; a bigger export becomes a background job with a progress bar."""

    kind = ""  # a kind in core.exports.exports

    def get_params(self) -> dict:
        return params_of(self.request.GET)

    def get(self, request, *args, **kwargs):
        params = self.get_params()
        export = exports.build(self.kind, request.user, params)  # InvalidFilter: 404
        rows = export.count()
        if rows > sync_max_rows():
            job = exports.start_background(request.user, self.kind, params)
            if job is not None:
                messages.info(
                    request, f"共 {rows} 行，数据较多，正在后台生成 Excel，完成后在本页下载。"
                )
                return redirect(job.get_absolute_url())
        return attachment(export.xlsx(), export.filename())


def url_for_each(viewname: str, *fixed):
    """``reverse(viewname, args=[*fixed, pk])`` for the many pks of a list page at the cost of
    one ``reverse``: a page of 50 cards with two ``{% url %}`` each spent about a fifth of its
    time resolving them. The last argument must be an integer primary key."""
    sentinel = 2147483647
    head, tail = reverse(viewname, args=[*fixed, sentinel]).rsplit(str(sentinel), 1)
    return lambda pk: f"{head}{int(pk)}{tail}"
