/* The toilet form's "获取当前位置" button: the phone's position into the latitude and
   longitude fields (the surveyor may also type them). */
(function () {
  "use strict";
  var button = document.getElementById("locate");
  if (!button) return;
  button.addEventListener("click", function () {
    var status = document.getElementById("locate-status");
    if (!navigator.geolocation) { status.textContent = "此浏览器不支持定位，请手工填写经纬度。"; return; }
    status.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_latitude").value = pos.coords.latitude.toFixed(6);
      document.getElementById("id_longitude").value = pos.coords.longitude.toFixed(6);
      status.textContent = "已获取位置（精度约 " + Math.round(pos.coords.accuracy) + " 米）。";
    }, function () { status.textContent = "无法获取位置，请确认已允许定位，或手工填写。"; },
    { enableHighAccuracy: true, timeout: 15000 });
  });
})();
