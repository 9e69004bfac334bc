"""The server-rendered pages: parse the request, call a selector or service, render.

htmx requests get a template partial (`template.html#name`) instead of the whole page.
Form errors come back with status 200 so that htmx swaps them in like any other reply;
a refusal (`NotPermitted`) comes back as 403, which the page's htmx configuration swaps too.

- `common` — `capability_required`, the `AuthedRequest` type, `htmx_partial` and
  `add_refusal` (a service's refusal onto a form, with the status to answer).
- `home` — sign-in (throttled), sign-out and the home page.
- `areas` — the area browser, the area card and locating a point.
- `registry` — residents, organisations and buildings: lists, records, unmasking, and
  the lookup of residents by ID number or phone.

`gridlink/web/urls.py` imports the views from these modules.
"""
