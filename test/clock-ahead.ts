/**
 * Loaded into a process a test starts (`CLOCK_AHEAD` of processes.ts): on SIGUSR2 its clock
 * (`Date.now`) jumps an hour ahead, as if the minutes the process waits for something had passed.
 */
const now = Date.now;
let ahead = 0;
Date.now = () => now() + ahead;
process.on('SIGUSR2', () => {
  ahead += 3_600_000;
});
