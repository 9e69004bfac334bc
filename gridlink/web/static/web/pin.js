/* Map pin for the report forms: clicking the server-drawn SVG map fills the latitude and
   longitude inputs and moves the marker; typing numbers moves the marker too.
   The SVG carries the inverse of the map's projection (gridlink/web/maps.py, linear in
   each axis): lon = (x - x0) / kx, lat = (y - y0) / ky, in SVG user units. */
(function () {
  "use strict";

  function setup(svg) {
    var x0 = parseFloat(svg.dataset.pinX0);
    var kx = parseFloat(svg.dataset.pinKx);
    var y0 = parseFloat(svg.dataset.pinY0);
    var ky = parseFloat(svg.dataset.pinKy);
    var form = svg.closest("form");
    var marker = svg.querySelector(".pin-marker");
    if (!form || !marker || !kx || !ky) {
      return;
    }
    var lat = form.querySelector("input[name=lat]");
    var lon = form.querySelector("input[name=lon]");
    if (!lat || !lon) {
      return;
    }

    function place(la, lo) {
      marker.setAttribute("cx", (x0 + kx * lo).toFixed(1));
      marker.setAttribute("cy", (y0 + ky * la).toFixed(1));
      marker.classList.remove("is-hidden");
    }

    svg.classList.add("pin-active");
    svg.addEventListener("click", function (event) {
      var ctm = svg.getScreenCTM();
      if (!ctm) {
        return;
      }
      var point = svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      var p = point.matrixTransform(ctm.inverse());
      var lo = (p.x - x0) / kx;
      var la = (p.y - y0) / ky;
      lat.value = la.toFixed(6);
      lon.value = lo.toFixed(6);
      place(la, lo);
    });

    function typed() {
      var la = parseFloat(lat.value);
      var lo = parseFloat(lon.value);
      if (isFinite(la) && isFinite(lo)) {
        place(la, lo);
      }
    }
    lat.addEventListener("input", typed);
    lon.addEventListener("input", typed);
  }

  function init() {
    document.querySelectorAll("svg[data-pin-kx]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
