/** Types of prompt-sets.mjs (CATS and DOGS, shared by the tests and plain-JS child processes). */
export declare const CATS: string[];
export declare const DOGS: string[];
