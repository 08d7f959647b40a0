import { describeEventStoreContract } from './event-store.contract.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';

const connectionString = process.env.EVENTSTORE_CONNECTION_STRING?.trim();
const SKIPPED = 'skipped: no EventStoreDB (set EVENTSTORE_CONNECTION_STRING to run the EventStoreDB contract)';

if (connectionString) {
  // The server's log is shared and long-lived: the contract gives every test a random category.
  describeEventStoreContract('eventstoredb', async () => {
    const store = EventStoreDbEventStore.connect(connectionString);
    return { store, cleanup: () => store.close() };
  });
} else {
  // A visible pass rather than test.skip, so the run says why the contract did not run.
  test(SKIPPED, () => {
    console.log(SKIPPED);
  });
}
