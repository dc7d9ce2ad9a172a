"""The public verify page: a code or a stamped file in, 核验通过 / 未找到 / 文件内容与报送记录不一致
out."""

import math

from django.conf import settings
from django.shortcuts import render
from django.views import View

from core.users import display_name
from core.web.page_throttling import page_throttle_message, page_throttle_wait

from .. import completeness, services
from ..columns import COLUMNS, column_titles
from ..forms import VerifyForm
from ..queries import bucket_labels


class VerifyView(View):
    """No login: a code or a file in, 核验通过 / 未找到 / 文件内容与报送记录不一致 out, with only
    the unit, round, version, who and when, the 合计 row and the frozen coverage with its
    exceptions (as printed on the stamped file). A file larger than a stamped sheet (2 MB) is
    refused by the form (``SummaryFileField``) before it is read; the file is then read
    under the limits of ``reports.sheet.read_summary``; and uploads are counted per client IP
    (``VERIFY_UPLOAD_RATE``, 10 a minute by default): over the rate the page answers 429."""

    template_name = "reports/verify.html"

    def render_page(self, form, verdict=None, status=200, throttled=""):
        context = {"form": form, "verdict": verdict, "numbers": COLUMNS, "throttled": throttled}
        if verdict is not None and verdict.submission is not None:
            submission = verdict.submission
            context.update(
                submitted_by=display_name(submission.submitted_by),
                coverage_lines=[
                    line.strip() for line in completeness.note_lines(submission.coverage)
                ],
                total_cells=[
                    (title, submission.total.get(str(c), 0))
                    for c, title in column_titles(
                        bucket_labels(submission.survey_round or submission.collection)
                    ).items()
                ],
            )
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        if "code" in request.GET:
            form = VerifyForm(request.GET)
            if form.is_valid():
                return self.render_page(form, services.verify_code(form.cleaned_data["code"]))
            return self.render_page(form)
        return self.render_page(VerifyForm())

    def post(self, request):
        form = VerifyForm(request.POST, request.FILES)
        if request.FILES:
            rate = getattr(settings, "VERIFY_UPLOAD_RATE", "10/m")
            wait = page_throttle_wait(request, "verify-upload", rate)
            if wait is not None:
                throttled = f"上传文件核验{page_throttle_message(wait)}"
                response = self.render_page(VerifyForm(), status=429, throttled=throttled)
                response["Retry-After"] = str(max(1, math.ceil(wait)))
                return response
        if not form.is_valid():
            return self.render_page(form)
        upload = form.cleaned_data.get("file")
        if upload is not None:
            return self.render_page(form, services.verify_file(upload.read()))
        return self.render_page(form, services.verify_code(form.cleaned_data["code"]))
