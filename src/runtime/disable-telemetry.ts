/**
 * ONNX Runtime's Linux build carries telemetry that looks up and posts to a Microsoft endpoint. A
 * face-verification service sends nothing anywhere it was not asked to: turn it off before the native
 * library loads (this module is imported first by onnx-session.ts; ES modules evaluate in import order).
 * Set ORT_DISABLE_TELEMETRY=0 explicitly to opt back in.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';
