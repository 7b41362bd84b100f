import { describe, expect, test } from 'vitest';
import { classifyReply, enhancedStatus, isPolicyRejection } from '../src/delivery/classify.ts';

describe('SMTP replies handled as they mean', () => {
  test.each([
    [421, '421 4.7.0 Try again later, closing connection', 'deferred', '4.7.0'],
    [450, '450 4.2.1 Mailbox busy', 'deferred', '4.2.1'],
    [451, '451 4.3.0 Temporary local problem', 'deferred', '4.3.0'],
    [452, '452 4.2.2 Mailbox full', 'deferred', '4.2.2'],
    [454, '454 4.7.1 Relay access denied, try later', 'deferred', '4.7.1'],
    [450, '450 Requested action not taken', 'deferred', undefined],
    [550, '550 5.1.1 <x@example.org>: Recipient address rejected: User unknown', 'bounced', '5.1.1'],
    [550, '550-5.1.1 The email account that you tried to reach does not exist.', 'bounced', '5.1.1'],
    [553, '553 5.1.3 Bad recipient address syntax', 'bounced', '5.1.3'],
    [550, '550 No such user here', 'bounced', undefined],
    [551, '551 User not local; unknown user', 'bounced', undefined],
    [550, '550 5.7.1 Message rejected due to DMARC policy', 'failed', '5.7.1'],
    [554, '554 5.7.1 Service unavailable; client host blocked', 'failed', '5.7.1'],
    [550, '550 5.1.8 Bad sender address domain', 'failed', '5.1.8'],
    [552, '552 5.2.2 Mailbox full', 'failed', '5.2.2'],
    [554, '554 Transaction failed', 'failed', undefined],
    [550, '550 Rejected', 'failed', undefined],
  ] as const)('%i %s → %s', (code, response, status, enhanced) => {
    const result = classifyReply(code, response);
    expect(result.status).toBe(status);
    expect(result.enhanced).toBe(enhanced);
    expect(result.code).toBe(code);
    expect(result.response).toBe(response);
  });

  test('5.7.x and bad-sender replies are policy problems of our setup', () => {
    expect(isPolicyRejection(classifyReply(550, '550 5.7.26 Unauthenticated email is not accepted'))).toBe(true);
    expect(isPolicyRejection(classifyReply(550, '550 5.1.8 Bad sender address'))).toBe(true);
    expect(isPolicyRejection(classifyReply(550, '550 5.1.1 User unknown'))).toBe(false);
    expect(isPolicyRejection({ status: 'sent', response: '250 ok' })).toBe(false);
  });

  test('the enhanced status is read from the reply text', () => {
    expect(enhancedStatus('550 5.1.1 User unknown')).toBe('5.1.1');
    expect(enhancedStatus('451-4.3.0 please retry')).toBe('4.3.0');
    expect(enhancedStatus('550 User unknown')).toBeUndefined();
  });
});
