from django.urls import path

from gridlink.web.views import (
    areas,
    assessment,
    assessment_scores,
    cases_hotline,
    cases_public,
    cases_queues,
    cases_staff,
    home,
    registry,
)

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", home.login_view, name="login"),
    path("logout/", home.logout_view, name="logout"),
    path("areas/", areas.area_index, name="area_index"),
    path("areas/locate/", areas.area_locate, name="area_locate"),
    path("areas/<str:code>/", areas.area_detail, name="area_detail"),
    path("areas/<str:code>/card/", areas.area_card, name="area_card"),
    path("registry/residents/", registry.resident_list, name="resident_list"),
    path("registry/residents/lookup/", registry.resident_lookup_view, name="resident_lookup"),
    path("registry/residents/<int:pk>/", registry.resident_detail, name="resident_detail"),
    path("registry/residents/<int:pk>/unmask/", registry.resident_unmask, name="resident_unmask"),
    path("registry/organisations/", registry.organisation_list, name="organisation_list"),
    path(
        "registry/organisations/<int:pk>/",
        registry.organisation_detail,
        name="organisation_detail",
    ),
    path(
        "registry/organisations/<int:pk>/unmask/",
        registry.organisation_unmask,
        name="organisation_unmask",
    ),
    path("registry/buildings/", registry.building_list, name="building_list"),
    path("registry/buildings/<int:pk>/", registry.building_detail, name="building_detail"),
    # Cases: the resident's report and tracking pages, then the staff pages.
    path("report/", cases_public.report, name="report"),
    path("report/done/", cases_public.report_done, name="report_done"),
    path("report/categories/", cases_public.report_categories, name="report_categories"),
    path("report/categories/<str:code>/", cases_public.report_category, name="report_category"),
    path("track/", cases_public.track, name="track"),
    path("track/<str:code>/", cases_public.track_case, name="track_case"),
    path("cases/", cases_staff.case_list, name="case_list"),
    path("cases/board/", cases_queues.case_board, name="case_board"),
    path("cases/patrol/", cases_queues.case_patrol, name="patrol"),
    path("cases/inbox/", cases_queues.case_inbox, name="case_inbox"),
    # The hotline operator's pages: entering a 12345 order, the callbacks (回访).
    path("cases/hotline/", cases_hotline.hotline_entry, name="hotline"),
    path("cases/hotline/categories/", cases_hotline.hotline_categories, name="hotline_categories"),
    path(
        "cases/hotline/categories/<str:code>/",
        cases_hotline.hotline_category,
        name="hotline_category",
    ),
    path("cases/hotline/callbacks/", cases_hotline.hotline_callbacks, name="hotline_callbacks"),
    path(
        "cases/hotline/callbacks/<int:case_id>/",
        cases_hotline.hotline_callback,
        name="hotline_callback",
    ),
    path("cases/<int:case_id>/", cases_staff.case_detail, name="case_detail"),
    path("cases/<int:case_id>/act/<str:action>/", cases_staff.case_act, name="case_act"),
    path(
        "cases/<int:case_id>/reporter/unmask/",
        cases_staff.case_reporter_unmask_view,
        name="case_reporter_unmask",
    ),
    path(
        "cases/<int:case_id>/tasks/<int:task_id>/<str:step>/",
        cases_staff.task_act,
        name="case_task",
    ),
    # Assessment dashboards: a unit's figures, and the cases behind one indicator.
    path("assessment/", assessment.assessment_index, name="assessment_index"),
    path(
        "assessment/scorecards/",
        assessment_scores.assessment_scorecards,
        name="assessment_scorecards",
    ),
    path("assessment/<str:unit>/", assessment.assessment_unit, name="assessment_unit"),
    path(
        "assessment/<str:unit>/indicator/<str:key>/",
        assessment.assessment_indicator,
        name="assessment_indicator",
    ),
]
