/**
 * (work in progress)
 * @module
 */
export {};
