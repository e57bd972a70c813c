// Shared by the client pages: where LAPIS is (?api=…), and how much of a canvas is painted.
window.LAPIS_API = new URLSearchParams(location.search).get('api');

// Painted pixels and distinct colours over the given canvases (each drawn into a small 2D probe first, so WebGL
// canvases with preserveDrawingBuffer work too).
window.paintedPixels = function (canvases) {
  const probe = document.createElement('canvas');
  probe.width = 200; probe.height = 150;
  const ctx = probe.getContext('2d');
  for (const c of canvases) ctx.drawImage(c, 0, 0, 200, 150);
  const d = ctx.getImageData(0, 0, 200, 150).data;
  const colours = new Set();
  let painted = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] === 0) continue;
    painted += 1;
    colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  }
  return { painted: painted / (200 * 150), colours: colours.size };
};

window.finish = function (result) { window.lapisClient = result; };
window.fail = function (error) { console.error(String(error)); window.lapisClient = { error: String(error) }; };
