/** The one bundle (`/widget.js`): importing it defines all three elements. */
import './chat-widget/chat-widget.js';
import './agent-console/agent-console.js';
import './session-replay/session-replay.js';
