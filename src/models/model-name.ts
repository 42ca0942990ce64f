/** Lower-case letters, digits, `.`, `_`, `-`; safe as a file name and in an environment variable. */
export const MODEL_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
