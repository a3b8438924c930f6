/** The e-mail view the built-in spam data is read through: addressing headers unfolded, then the body. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { emailView } from '../lib/data/classify';

test('keeps the addressing headers (unfolded) and the body, drops routing headers', () => {
  const raw = 'From someone  Thu Aug 22 2002\nReturn-Path: <a@b.c>\nReceived: from x\n\tby y with SMTP\nFrom: Ann <ann@x.org>\n' +
    'To: bob@y.org\nSubject: Hello\n  again\nMessage-ID: <1@x>\nList-Id: <talk.x.org>\nDate: Thu, 22 Aug 2002\n\nHi Bob,\n\nsee you.\n';
  assert.is(emailView(raw), 'From: Ann <ann@x.org>\nTo: bob@y.org\nSubject: Hello again\nList-Id: <talk.x.org>\n\nHi Bob,\n\nsee you.');
  assert.is(emailView('just a note\nwith two lines\n'), 'just a note\nwith two lines', 'a text without headers is kept (trimmed)');
  assert.is(emailView('Subject: only headers'), 'Subject: only headers\n\n');
});

test.run();
