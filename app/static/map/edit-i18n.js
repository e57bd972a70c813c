/* The texts of the map's edit mode, in Vietnamese and English, and the names of layers, fields and states.
   Follows the viewer's mechanism: the language is window.lapis.lang, switched by the VI/EN buttons; the edit panels
   draw their texts again on a switch (elements with data-edit="key" get that key's text). */
(function () {
  "use strict";

  const TEXT = {
    vi: {
      title: "Chỉnh sửa", token: "Mã truy cập (API token)", signIn: "Đăng nhập", signOut: "Đăng xuất",
      signedIn: "Đăng nhập với tên", badToken: "Mã truy cập không hợp lệ hoặc đã hết hạn",
      viewerOnly: "Vai trò này chỉ được xem, không được chỉnh sửa.", layer: "Lớp", chooseLayer: "— chọn lớp —",
      drawPolygon: "Vẽ vùng", drawLine: "Vẽ tuyến", drawPoint: "Vẽ điểm", save: "Lưu", delete: "Xóa",
      cancel: "Hủy", reload: "Tải lại",
      hintPick: "Bấm vào một đối tượng của lớp trên bản đồ để sửa, hoặc vẽ đối tượng mới.",
      hintDraw: "Bấm để thêm đỉnh; bấm lại đỉnh cuối (hoặc Enter) để kết thúc.",
      hintEdit: "Kéo các đỉnh để sửa hình; sửa thuộc tính bên dưới rồi bấm «Lưu».",
      newFeature: "Đối tượng mới", feature: "Đối tượng", saving: "Đang lưu…", saved: "Đã lưu vào đề xuất",
      deleted: "Đã đánh dấu xóa trong đề xuất", confirmDelete: "Xóa đối tượng này (trong đề xuất của bạn)?",
      conflict: "Đối tượng đã bị người khác thay đổi kể từ khi bạn mở nó. Bản mới nhất đã được tải lại: hãy sửa lại rồi lưu.",
      held: "Đối tượng đang nằm trong một đề xuất khác chưa được duyệt.",
      invalid: "Dữ liệu không hợp lệ", failed: "Không thực hiện được", noGeometry: "Chưa vẽ hình.",
      gone: "Đối tượng không còn nữa.",
      upload: "Tải tệp lên", file: "Tệp (GeoJSON, GeoPackage, shapefile nén zip, FlatGeobuf, CSV)",
      mode: "Cách nạp", modes: { append: "Thêm mới", upsert: "Thêm hoặc cập nhật theo khóa", replace: "Thay toàn bộ lớp" },
      key: "Khóa", encoding: "Bảng mã", crs: "Hệ tọa độ (để trống: tự nhận)", dryRun: "Chạy thử (không ghi)",
      start: "Bắt đầu", jobStates: { queued: "Đang chờ", running: "Đang chạy", succeeded: "Hoàn tất", failed: "Thất bại",
        cancelled: "Đã hủy" },
      loaded: "đã nạp", rejectedRows: "bị loại", jobProposal: "Kết quả nằm trong đề xuất",
      myProposal: "Đề xuất của tôi", noProposal: "Chưa có thay đổi nào đang chờ duyệt.", changes: "thay đổi",
      preview: "Xem trước trên bản đồ", pending: "Đề xuất chờ duyệt", noPending: "Không có đề xuất nào chờ duyệt.",
      publish: "Công bố", reject: "Từ chối", published: "Đã công bố", rejected: "Đã từ chối",
      rejectNote: "Lý do từ chối (không bắt buộc)", by: "bởi", refresh: "Làm mới",
      ops: { create: "thêm", replace: "thay", update: "sửa", delete: "xóa" },
      required: "bắt buộc",
    },
    en: {
      title: "Edit", token: "Access token (API token)", signIn: "Sign in", signOut: "Sign out",
      signedIn: "Signed in as", badToken: "The token is not valid or has expired",
      viewerOnly: "This role may view only, not edit.", layer: "Layer", chooseLayer: "— choose a layer —",
      drawPolygon: "Draw area", drawLine: "Draw line", drawPoint: "Draw point", save: "Save", delete: "Delete",
      cancel: "Cancel", reload: "Reload",
      hintPick: "Click a feature of the layer on the map to edit it, or draw a new one.",
      hintDraw: "Click to add vertices; click the last one again (or press Enter) to finish.",
      hintEdit: "Drag the vertices to reshape; edit the attributes below, then Save.",
      newFeature: "New feature", feature: "Feature", saving: "Saving…", saved: "Saved in your proposal",
      deleted: "Marked for deletion in your proposal", confirmDelete: "Delete this feature (in your proposal)?",
      conflict: "Someone else changed this feature since you opened it. The latest version has been reloaded: redo your change and save.",
      held: "This feature is part of another proposal that is not decided yet.",
      invalid: "Invalid data", failed: "Could not do that", noGeometry: "Nothing drawn yet.",
      gone: "This feature no longer exists.",
      upload: "Upload a file", file: "File (GeoJSON, GeoPackage, zipped shapefile, FlatGeobuf, CSV)",
      mode: "Mode", modes: { append: "Append", upsert: "Insert or update by key", replace: "Replace the whole layer" },
      key: "Key", encoding: "Encoding", crs: "CRS (empty: detect)", dryRun: "Dry run (write nothing)",
      start: "Start", jobStates: { queued: "Queued", running: "Running", succeeded: "Done", failed: "Failed",
        cancelled: "Cancelled" },
      loaded: "loaded", rejectedRows: "rejected", jobProposal: "The result is in proposal",
      myProposal: "My proposal", noProposal: "No changes waiting for approval.", changes: "changes",
      preview: "Preview on the map", pending: "Proposals waiting for approval", noPending: "No proposal is waiting.",
      publish: "Publish", reject: "Reject", published: "Published", rejected: "Rejected",
      rejectNote: "Reason for rejecting (optional)", by: "by", refresh: "Refresh",
      ops: { create: "create", replace: "replace", update: "update", delete: "delete" },
      required: "required",
    },
  };

  const LAYERS = {
    admin_units: ["Đơn vị hành chính", "Administrative units"], zones: ["Vùng/phân khu", "Zones"],
    corridors: ["Hành lang", "Corridors"], axes: ["Trục động lực", "Development axes"],
    projects: ["Dự án", "Projects"], parcels: ["Thửa đất", "Parcels"],
  };

  const FIELDS = {
    code: ["Mã", "Code"], name_vi: ["Tên (tiếng Việt)", "Name (Vietnamese)"],
    name_en: ["Tên (tiếng Anh)", "Name (English)"], source: ["Nguồn", "Source"],
    accuracy: ["Độ chính xác", "Accuracy"], level: ["Cấp", "Level"], gso_code: ["Mã GSO", "GSO code"],
    unit_type: ["Loại đơn vị", "Unit type"], parent_code: ["Mã cấp trên", "Parent code"], kind: ["Loại", "Kind"],
    route: ["Tuyến", "Route"], rank: ["Hạng", "Rank"], roads: ["Các tuyến đường", "Roads"],
    category: ["Nhóm", "Category"], status: ["Tình trạng", "Status"], start_year: ["Năm bắt đầu", "Start year"],
    end_year: ["Năm kết thúc", "End year"], investment_vnd_bn: ["Vốn đầu tư (tỷ đồng)", "Investment (VND bn)"],
    length_km: ["Chiều dài (km)", "Length (km)"], area_ha: ["Diện tích (ha)", "Area (ha)"],
    land_use: ["Mục đích sử dụng đất", "Land use"], area_m2: ["Diện tích (m²)", "Area (m²)"],
  };

  const lang = () => (window.lapis && window.lapis.lang === "en" ? "en" : "vi");
  const pick = (pair, fallback) => (pair ? pair[lang() === "en" ? 1 : 0] : fallback);

  window.lapisEditText = {
    lang,
    t: (key) => TEXT[lang()][key],
    layerName: (id, title) => pick(LAYERS[id], title || id),
    fieldName: (name, title) => pick(FIELDS[name], title || name),
    /* Every element under `root` with data-edit="key" gets that key's text. */
    translate(root) {
      for (const el of root.querySelectorAll("[data-edit]")) el.textContent = TEXT[lang()][el.dataset.edit];
      for (const el of root.querySelectorAll("[data-edit-placeholder]")) el.placeholder = TEXT[lang()][el.dataset.editPlaceholder];
    },
    esc: (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
      "'": "&#39;" }[c])),
  };
})();
