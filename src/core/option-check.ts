// The hub's components check options as the client does: one implementation, in common/.
export * from '../common/option-check.js';
