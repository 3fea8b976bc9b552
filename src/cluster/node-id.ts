/**
 * What a node id may be: 1–128 characters without whitespace or control
 * characters. Node ids go into channel names, the claim a name records
 * (`<node id> <claim id>`) and the tab-separated envelope header.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
export const nodeIdPattern = /^[^\s\u0000-\u001f\u007f-\u009f]{1,128}$/;
