/** What the demo prints once it listens; `npm start` prints the URLs after it. */
export const READY_LINE = 'xrayjs demo is listening';
