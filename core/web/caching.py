"""``Cache-Control: no-store`` on what carries personal data: every API response and every
page answered to a signed-in user (households' full ID and phone numbers appear on them), so
neither the browser's HTTP cache nor a shared proxy keeps a copy.

A response that sets its own ``Cache-Control`` keeps it (the service worker, the manifest,
a photo's private cache). Static files never reach this middleware (WhiteNoise answers them
first) and the public pages stay as they were. The service worker's own copies of the
surveyor's field pages are kept in the Cache API, which ``no-store`` does not touch.
"""

NO_STORE = "private, no-store"


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = NO_STORE
        elif "Cache-Control" not in response:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                response["Cache-Control"] = NO_STORE
        return response
