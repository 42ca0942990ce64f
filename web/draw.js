/**
 * The overlay drawn over a photo: face boxes, the 5 landmarks, the region chosen in a group photo and
 * the keyboard marker. Everything is given in the photo's original pixels (the API's coordinates) and
 * scaled to the photo as displayed, at the screen's pixel density.
 */

const LANDMARK_COLOURS = ['#ff3b6b', '#ff3b6b', '#ffd400', '#36c5ff', '#36c5ff'];

/**
 * @typedef {{ box: { x: number, y: number, width: number, height: number }, landmarks: [number, number][], score?: number }} Face
 * @typedef {{ x: number, y: number, width: number, height: number }} Rect
 */

/**
 * Redraws the overlay canvas of a photo.
 *
 * @param {HTMLCanvasElement} canvas laid over `img`, same CSS box
 * @param {HTMLImageElement} img a decoded photo
 * @param {{ faces?: Face[], region?: Rect, marker?: [number, number] }} what
 */
export function drawOverlay(canvas, img, what) {
  const cssWidth = img.clientWidth;
  const cssHeight = img.clientHeight;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(cssWidth * dpr));
  canvas.height = Math.max(1, Math.round(cssHeight * dpr));
  const ctx = canvas.getContext('2d');
  if (!ctx || !img.naturalWidth) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  // One CSS pixel in original pixels, so strokes keep their on-screen width at any zoom.
  const s = cssWidth / img.naturalWidth;
  const px = 1 / s;
  ctx.setTransform(dpr * s, 0, 0, dpr * s, 0, 0);

  if (what.region) {
    const r = what.region;
    ctx.save();
    ctx.fillStyle = 'rgba(0, 0, 0, 0.45)';
    ctx.beginPath();
    ctx.rect(0, 0, img.naturalWidth, img.naturalHeight);
    ctx.rect(r.x, r.y, r.width, r.height);
    ctx.fill('evenodd');
    ctx.setLineDash([6 * px, 4 * px]);
    ctx.lineWidth = 2 * px;
    ctx.strokeStyle = '#fff';
    ctx.strokeRect(r.x, r.y, r.width, r.height);
    ctx.restore();
  }

  for (const face of what.faces ?? []) {
    const { x, y, width, height } = face.box;
    ctx.lineWidth = 3 * px;
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.6)';
    ctx.strokeRect(x, y, width, height);
    ctx.lineWidth = 2 * px;
    ctx.strokeStyle = '#3dff8c';
    ctx.strokeRect(x, y, width, height);
    face.landmarks.forEach(([lx, ly], i) => {
      ctx.beginPath();
      ctx.arc(lx, ly, Math.max(2.5 * px, width / 45), 0, 2 * Math.PI);
      ctx.fillStyle = LANDMARK_COLOURS[i] ?? '#fff';
      ctx.fill();
      ctx.lineWidth = 1 * px;
      ctx.strokeStyle = '#000';
      ctx.stroke();
    });
  }

  if (what.marker) {
    const [mx, my] = what.marker;
    ctx.lineWidth = 2 * px;
    ctx.strokeStyle = '#ffd400';
    ctx.beginPath();
    ctx.arc(mx, my, 14 * px, 0, 2 * Math.PI);
    ctx.moveTo(mx - 22 * px, my);
    ctx.lineTo(mx + 22 * px, my);
    ctx.moveTo(mx, my - 22 * px);
    ctx.lineTo(mx, my + 22 * px);
    ctx.stroke();
  }
}
