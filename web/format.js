/**
 * How the page puts numbers and refusals into words, shared by its views.
 */

/**
 * A probability in per cent, one decimal; a calibrated confidence is never quite 0 or 1, so the ends
 * read "<0.1 %" and ">99.9 %" rather than a rounded certainty.
 *
 * @param {number} p
 * @example formatPercent(0.4321) // "43.2 %"
 */
export function formatPercent(p) {
  if (p > 0.999) return '>99.9 %';
  if (p < 0.001) return '<0.1 %';
  return `${(p * 100).toFixed(1)} %`;
}

/**
 * What to tell the user about a photo the service could not use, by the error's stable code.
 *
 * @param {string} code
 * @returns {string | undefined} undefined when the code is not about the photo
 */
export function photoHint(code) {
  switch (code) {
    case 'NO_FACE':
      return 'No face found in this photo.';
    case 'MULTIPLE_FACES':
      return 'Several faces in this photo: use a photo of one person.';
    case 'FACE_TOO_SMALL':
      return 'The face is too small: use a closer or larger photo.';
    case 'LOW_QUALITY':
      return 'The face is of too low a quality: use a sharper, better-lit photo.';
    case 'INVALID_IMAGE':
      return 'This is not an image, or it is damaged.';
    case 'UNSUPPORTED_FORMAT':
      return 'This image format is not supported: use JPEG, PNG or WebP.';
    case 'IMAGE_TOO_LARGE':
      return 'This photo is too large for the service.';
    case 'DOWNLOAD_FAILED':
    case 'DOWNLOAD_TIMEOUT':
      return 'The photo could not be downloaded from its URL.';
    case 'URL_NOT_ALLOWED':
      return 'The service may not fetch this URL.';
    default:
      return undefined;
  }
}
