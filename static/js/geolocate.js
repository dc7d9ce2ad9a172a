/* Best effort: put the phone's position into the hidden latitude/longitude fields of the
   rectification photo form. The server uses it only for photos that carry no GPS of their
   own; the form works without it. No libraries. */
(function () {
  "use strict";
  var lat = document.querySelector("input[name=latitude]");
  var lon = document.querySelector("input[name=longitude]");
  var status = document.querySelector("[data-geo-status]");
  if (!lat || !lon) return;

  function say(text) {
    if (status) status.textContent = text;
  }

  if (!("geolocation" in navigator)) {
    say("此浏览器不能获取定位；照片自带的位置仍会保存。");
    return;
  }
  say("正在获取手机定位…");
  navigator.geolocation.getCurrentPosition(
    function (position) {
      lat.value = position.coords.latitude.toFixed(6);
      lon.value = position.coords.longitude.toFixed(6);
      say("已获取手机定位（精度约 " + Math.round(position.coords.accuracy) + " 米）。");
    },
    function () {
      lat.value = "";
      lon.value = "";
      say("未能获取手机定位；照片自带的位置仍会保存。请允许浏览器获取位置，并在现场拍照。");
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
  );
})();
