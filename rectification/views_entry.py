"""Placeholders: the entry pages are being written."""

from django.http import Http404
from django.views import View


class _Pending(View):
    def get(self, request, *args, **kwargs):
        raise Http404


EntryDetailView = NoticeView = TransitionView = BatchNoticeView = BulkAcceptView = _Pending
EvidencePhotoView = ConsentImageView = _Pending
