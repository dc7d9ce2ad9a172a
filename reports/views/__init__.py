"""The reports pages: the summary table and the submissions up the hierarchy
(``summary``, ``submissions``), the seal and the public verify page (``seal``, ``verify``), the
upload-validation page (``validate``), the weekly progress table and its targets
(``progress``) and report jobs (``jobs``). ``tables`` lays the summary table out as HTML;
``base`` looks rounds and regions up through the scoping."""
