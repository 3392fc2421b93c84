// Unit tests of the support pieces the two support pages share (components/support.js),
// in English, run with `node --test`: the status words, the thread as a chat (oldest
// first, each side where it belongs), the preview of a message cut for a list line, a
// live answer merged into its request, and the staff's counts moved by an event. The
// Russian texts are in support-ru.test.mjs (a module reads its language once, so each
// language is a process of its own). The modules read the browser's language, so the
// few globals they touch are stubbed.

import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { search: '' };
globalThis.localStorage = { getItem: () => null };
globalThis.navigator = { languages: ['en-US'] };
globalThis.document = { documentElement: {} };

const { STATUSES, statusWord, previewText, chatMessages, lastMessage, lastLine, withMessage, countsAfter } =
  await import('../app/components/support.js');
const { tn } = await import('../app/i18n.js');

const message = (id, fromStaff, text, at, extra = {}) => ({
  id,
  author_id: fromStaff ? 1 : 5,
  author_name: fromStaff ? 'Admin' : 'Seller 1',
  from_staff: fromStaff,
  text,
  photo: null,
  created_at: at,
  ...extra,
});
const request = (status, messages) => ({
  id: 7,
  participant_id: 5,
  participant_name: 'Seller 1',
  subject: 'No points',
  status,
  created_at: 1000,
  updated_at: messages.at(-1)?.created_at ?? 1000,
  messages,
});

test('each status has its words', () => {
  assert.deepEqual(STATUSES, ['open', 'answered', 'closed']);
  assert.equal(statusWord('open'), 'Waiting for an answer');
  assert.equal(statusWord('answered'), 'Answered');
  assert.equal(statusWord('closed'), 'Closed');
  // A status this page does not know yet is shown as the server names it.
  assert.equal(statusWord('escalated'), 'escalated');
});

test('the thread reads oldest first, the viewer on the right', () => {
  const r = request('answered', [
    message(12, false, 'Thanks', 3000),
    message(10, false, 'No points for my code', 1000),
    message(11, true, 'Credited now', 2000),
    // Written in the same millisecond: the id keeps their order.
    message(14, true, 'Anything else?', 3000),
    message(13, false, 'One more thing', 3000),
  ]);
  const mine = chatMessages(r);
  assert.deepEqual(
    mine.map((m) => m.id),
    [10, 11, 12, 13, 14],
  );
  // A participant: their own messages right, support's left.
  assert.deepEqual(
    mine.map((m) => m.side),
    ['right', 'left', 'right', 'right', 'left'],
  );
  // Staff: support's right, the participant's left.
  assert.deepEqual(
    chatMessages(r, { staff: true }).map((m) => m.side),
    ['left', 'right', 'left', 'left', 'right'],
  );
  // The request itself is left as it came.
  assert.equal(r.messages[0].id, 12);
  assert.equal(lastMessage(r).id, 14);
  assert.equal(lastMessage(request('open', [])), null);
  assert.deepEqual(chatMessages(undefined), []);
});

test('a preview is cut at a word with an ellipsis', () => {
  assert.equal(previewText('Short text'), 'Short text');
  assert.equal(previewText('  line one\n\nline   two \t'), 'line one line two');
  assert.equal(previewText('The code from the box was not accepted', 20), 'The code from the…');
  assert.equal(previewText('The code from the box', 21), 'The code from the box');
  // No space in reach: cut inside the word rather than leave almost nothing.
  assert.equal(previewText('Supercalifragilistic expialidocious', 10), 'Supercali…');
  // Punctuation before the cut goes.
  assert.equal(previewText('First, second, third, fourth', 16), 'First, second…');
  // Characters, not UTF-16 halves: an emoji is never split.
  assert.equal(previewText('😀😀😀😀😀😀', 4), '😀😀😀…');
  assert.equal([...previewText('x'.repeat(200))].length, 90);
  assert.equal(previewText(null), '');
});

test('a list line names who wrote last', () => {
  const asked = request('open', [message(1, false, 'Where are my points?', 1000)]);
  assert.equal(lastLine(asked), 'You: Where are my points?');
  assert.equal(lastLine(asked, { staff: true }), 'Seller 1: Where are my points?');
  const answered = request('answered', [...asked.messages, message(2, true, 'They are credited.', 2000)]);
  assert.equal(lastLine(answered), 'Support: They are credited.');
  assert.equal(lastLine(answered, { staff: true }), 'Support: They are credited.');
  assert.equal(lastLine(request('open', [])), '');
  assert.equal(tn('support.messages', 1), '1 message');
  assert.equal(tn('support.messages', 3), '3 messages');
});

test('a live answer joins its request once', () => {
  const asked = request('open', [message(1, false, 'Where are my points?', 1000)]);
  const answer = message(2, true, 'Credited.', 5000);
  const after = withMessage(asked, answer, 'answered');
  assert.equal(after.status, 'answered');
  assert.equal(after.updated_at, 5000);
  assert.deepEqual(
    after.messages.map((m) => m.id),
    [1, 2],
  );
  // The same message again (the page's own answer, then the event): not repeated.
  assert.deepEqual(
    withMessage(after, answer, 'answered').messages.map((m) => m.id),
    [1, 2],
  );
  assert.equal(asked.messages.length, 1, 'the request it came from is left as it was');
});

test('the staff counts follow the events', () => {
  const counts = { open: 3, answered: 2 };
  const fresh = request('open', [message(1, false, 'Help', 1000)]);
  // A new request waits for an answer.
  assert.deepEqual(countsAfter(counts, undefined, fresh), { open: 4, answered: 2 });
  // Answered: from open to answered.
  const answered = request('answered', [...fresh.messages, message(2, true, 'Done', 2000)]);
  assert.deepEqual(countsAfter({ open: 4, answered: 2 }, 'open', answered), { open: 3, answered: 3 });
  // The participant writes again: back to open.
  const again = request('open', [...answered.messages, message(3, false, 'Not yet', 3000)]);
  assert.deepEqual(countsAfter({ open: 3, answered: 3 }, 'answered', again), { open: 4, answered: 2 });
  // Another message while open leaves the counts.
  assert.deepEqual(countsAfter({ open: 4, answered: 2 }, 'open', again), { open: 4, answered: 2 });
  // Closed requests are not counted; a closed one written in again is.
  const closed = { ...again, status: 'closed' };
  assert.deepEqual(countsAfter({ open: 4, answered: 2 }, 'open', closed), { open: 3, answered: 2 });
  assert.deepEqual(countsAfter({ open: 3, answered: 2 }, 'closed', again), { open: 4, answered: 2 });
  // Never below zero.
  assert.deepEqual(countsAfter({ open: 0, answered: 0 }, 'open', closed), { open: 0, answered: 0 });
  // A request not seen since the snapshot (not new): its old status is unknown.
  assert.equal(countsAfter(counts, undefined, answered), null);
  assert.equal(countsAfter(counts, undefined, { ...fresh, status: 'closed' }), null);
});
