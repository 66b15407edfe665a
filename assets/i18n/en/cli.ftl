# Texts of the command-line and text-mode kiosk.

checkout-ok = Borrowed: { $title }. Please return it by { $due }.
checkin-ok = Returned: { $title }.
checkin-fine = This item was { $days } { $days ->
    [one] day
   *[other] days
} late: a fine of { $fine } has been added to your account.
route-hold-shelf = Please put this item on the hold shelf (pickup code { $code }).
route-sort-bin = Please put this item in bin { $bin }.
route-staff = Please give this item to staff.
renew-ok = Renewed: { $title }. New due date { $due }.
hold-ok = Reserved: { $title }. We'll tell you when it is ready for pickup.
hold-cancelled = Your reservation of { $title } is cancelled.
pay-ok = Payment of { $amount } received. Thank you!
session-ended = Your session has ended. Goodbye!
feedback-thanks = Thank you for your feedback!
kiosk-welcome = Welcome to { $library }. Scan your card to borrow, or scan a book to return it.
kiosk-session-open = Hello { $name }. Scan your books to borrow them; scan your card again or type "done" to finish.
kiosk-enter-pin = Please type your PIN and press Enter.
kiosk-session-closed = Goodbye! You have { $count } { $count ->
    [one] item
   *[other] items
} on loan.
kiosk-scan-card-first = That was a book, not a card. To borrow, please scan your card first. To return it, set return-without-card on.
kiosk-finish-first = Another card: the reader at the kiosk must finish first (their card again, or type done).
kiosk-gui-pending = No display was found (DISPLAY and WAYLAND_DISPLAY are not set); running the text-mode kiosk instead.
kiosk-pad-help = Demo RFID pad: type "pad" to list the demo tags, "put 1" or "put 1,2,3" to place tags on the pad, "take 1" or "take all" to lift them off.
kiosk-no-demo-pad = There is no simulated RFID pad in this configuration.
tag-unreadable = This item's tag can't be read. Please give the item to staff.
tag-security-failed = The security tag of this item could not be set. Please show the item to staff before you leave.
receipt-due = due { $due }
receipt-footer = Thank you! Please return your items on time.
receipt-test-title = Test print
receipt-failed = The receipt could not be printed. Your loans are recorded; ask staff if you need a printout.
receipt-email-subject = Your loans at { $library }
receipt-email-failed = The receipt could not be e-mailed. Your loans are recorded; print it or ask staff if you need one.
circ-accepted = Done.
kiosk-offline = The library system can't be reached: this kiosk is working offline. Returns, borrowing and renewals still work (within the offline limits); reservations wait until it is back.
kiosk-online = The library system is back online.
kiosk-offline-returns-only = The library system can't be reached: this kiosk is working offline. You can return items; borrowing, renewals and reservations wait until it is back.
kiosk-offline-closed = The library system can't be reached, so this kiosk can't lend or take back items right now. Please ask staff.
config-secrets-readable = { $file } holds secrets ({ $keys }) and can be read by other users (mode { $mode }); make it readable by its owner only: chmod 600 { $file }
