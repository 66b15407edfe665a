# Texts of the touch-screen kiosk (src/ui).

ui-attract-borrow = To borrow: scan your library card.
ui-attract-return = To return: place your books on the pad, or scan them.
ui-attract-account = Scan your card to see your loans, renew them or reserve a book.
ui-out-of-service = Out of service
ui-out-of-service-hint = Sorry, this kiosk cannot be used right now. Please ask at the desk.
ui-db-checking = For staff: checking the kiosk database before the first loan; the kiosk opens by itself when the check passes.
ui-db-damaged = For staff: the kiosk database failed its check ({ $problem }). Nothing will be lent or returned with it. Restore it from a backup (docs/deploy.md); `kiosk status` shows what is wrong.
ui-offline = The library system can't be reached: some services may be limited.
ui-contrast = High contrast
ui-ok = OK
ui-cancel = Cancel
ui-back = Back
ui-done = Done
ui-skip = Skip
ui-send = Send
ui-pin-hello = Hello { $name }
ui-pin-enter = Please enter your PIN.
ui-borrow-title = Hello { $name }
ui-borrow-hint = Place your books on the pad or scan them one by one. Scan your card again or press Finish when you are done.
ui-borrow-empty = No items yet.
ui-due = Due { $due }
ui-renewed-until = Renewed: now due { $due }
ui-renew = Renew
ui-renew-all = Renew all
ui-my-account = My account
ui-holds = Reservations
ui-finish = Finish
ui-finish-first = Another card: the reader at the kiosk must press Finish first.
ui-error-staff = Something went wrong. Please ask staff for help.
ui-return-title = Returns
ui-return-hint = Place or scan more items to return them too.
ui-returned = Returned. Thank you!
ui-account-title = Account of { $name }
ui-account-loans = On loan ({ $count })
ui-account-no-loans = You have nothing on loan.
ui-account-holds = Reservations
ui-account-no-holds = You have no reservations.
ui-account-fines = You owe { $fine }. Please pay at the desk.
ui-account-no-fines = You owe nothing.
ui-overdue-since = Overdue: was due { $due }
ui-hold-ready = Ready for pickup: code { $code }, until { $by }
ui-hold-waiting = Waiting: number { $position } in the queue
ui-holds-title = Reservations
ui-holds-hint = Scan a book to reserve it. To pick up a reservation, take it from the hold shelf and borrow it like any book.
ui-hold-cancel = Cancel reservation
ui-receipt-title = You borrowed { $count } { $count ->
    [one] item
   *[other] items
}
ui-recommendations = You might also like:
ui-print-receipt = Print a receipt
ui-no-receipt = No receipt, thanks
ui-feedback-title = How was your visit?
ui-feedback-topics = Anything to add? (optional)
ui-topic-easy = Easy to use
ui-topic-fast = Fast
ui-topic-slow = Too slow
ui-topic-confusing = Confusing
ui-topic-books = Books I wanted
ui-topic-screen = Screen hard to read
ui-still-there = Are you still there?
ui-ending-in = Your session ends in { $seconds } seconds.
ui-still-here = I'm still here
ui-staff-pin = Staff PIN
ui-staff-pin-wrong = Wrong staff PIN.
ui-staff-title = Staff menu
ui-staff-devices = Devices
ui-staff-sync = Sync
ui-staff-outbox = Waiting to sync: { $outbox } of { $journal } journal entries
ui-staff-on-loan = Items on loan: { $count }
ui-staff-today = Today: { $loans } { $loans ->
    [one] loan
   *[other] loans
}, { $returns } { $returns ->
    [one] return
   *[other] returns
}
ui-staff-loans = Loans
ui-staff-returns = Returns
ui-staff-export = Export the last 30 days of transactions (CSV) to the USB stick at { $dir }
ui-staff-export-off = Export is switched off: set [staff] export_dir in kiosk.toml to the folder where the USB stick mounts.
ui-staff-exporting = Exporting…
ui-staff-export-no-stick = No USB stick found ({ $dir } is not there). Insert the stick, wait a moment and try again.
ui-staff-export-button = Export
ui-staff-exported = Exported transactions since { $from } to { $path }.
ui-staff-export-failed = Export failed: { $error }
ui-staff-refresh = Refresh
ui-staff-out-of-service = Take out of service
ui-staff-back-in-service = Put back in service
ui-staff-quit = Quit kiosk
ui-staff-no-report = no report yet
ui-already-yours = You already have this item.
ui-staff-last-sync = Last successful sync: { $at }
ui-staff-never-synced = Never synced with the central system.
# The idle screen while the central system cannot be reached, by [offline] policy.
ui-offline-title = The library system can't be reached right now.
ui-offline-nothing = Borrowing and returning must wait until it is back. Please ask staff.
ui-offline-returns-only = You can still return books here; borrowing must wait until it is back.
ui-offline-returns-and-loans = You can still borrow, return and renew books here; reservations must wait until it is back.
# Staff menu: sync with the central system.
ui-staff-standalone = This kiosk works alone (no central system configured).
ui-staff-online = Connected to { $upstream }
ui-staff-offline = Cannot reach { $upstream }: working offline
ui-staff-online-unknown = Not in contact with { $upstream } yet
ui-staff-sync-error = Last error: { $error }
ui-staff-conflicts = Conflicts to look at: { $count }
ui-staff-conflict-list = Latest open conflicts:
ui-staff-conflict-line = { $at } { $kind } item { $item } reader { $reader }: { $reason }
ui-staff-kind-checkout = Loan
ui-staff-kind-checkin = Return
ui-staff-kind-renew = Renewal
ui-staff-kind-hold-placed = Hold placed
ui-staff-kind-hold-cancelled = Hold cancelled
ui-staff-kind-feedback = Feedback
ui-staff-kind-fee-paid = Fee paid
ui-staff-kind-security = Security
ui-staff-device-seen = last event { $at }, { $errors } { $errors ->
        [one] error
       *[other] errors
    }
ui-staff-device-never = never
ui-staff-log = Recent warnings and errors (newest first):
ui-staff-log-empty = Nothing to report.
ui-staff-service-message = Message while out of service:
ui-staff-pulling = Fetching records: { $done } done, { $left } to go
ui-staff-sync-now = Sync now
ui-staff-syncing = Syncing ...
ui-staff-synced = Synced (sent / confirmed / records fetched): { $counts }
ui-staff-sync-failed = Sync failed: { $error }
ui-receipt-printing = Printing your receipt ...
ui-staff-pin-wrong-left = Wrong staff PIN. { $left } { $left ->
    [one] try
   *[other] tries
} left before the staff menu locks.
ui-staff-pin-locked = Too many wrong staff PINs: the staff menu is locked until { $until }.
# Staff menu: what each device reports (devices::events::StatusCode);
# $port is the device's configured port.
device-status-wedge-in-window = Ready: keyboard scanner typing into the kiosk
device-status-reader-answering = Ready: RFID reader answering
device-status-answering-again = Ready: answering again
device-status-scanner-ready = Ready: scanner connected
device-status-wedge-grabbed = Ready: keyboard scanner held by the kiosk
device-status-printer-ready = Ready: receipt printer connected
device-status-printer-simulated = Ready: simulated printer (receipts go to the log)
device-status-paper-low = Receipt paper is running low
device-status-printed = Ready: last receipt printed
device-status-card-reader-ready = Ready: card reader answering
device-status-cannot-open = Cannot be opened: unplugged, or no permission
device-status-not-answering = Connected but not answering
device-status-disconnected = Disconnected while in use; trying again
device-status-not-built-in = Not supported by this kiosk's build
device-status-paper-out = Out of paper
device-status-print-failed = The last receipt did not print
device-status-printer-unreachable = Paper state cannot be read
# Staff menu: testing devices, restarting, today's figures by item type.
ui-staff-test-hint = Test a device: scan a card or a book, or put a tag on the pad. Nothing is lent or returned while this menu is open.
ui-staff-test-card = reader card { $card }
ui-staff-test-staff-card = staff card
ui-staff-test-item = book { $code }: { $title }
ui-staff-test-unknown = { $code }: not a card or book of this library
ui-staff-test-tag = tag { $uid } ({ $format }, AFI { $afi }): book { $item }, { $title }
ui-staff-test-tag-unreadable = tag { $uid } ({ $format }, AFI { $afi }): carries no book number
ui-staff-test-print = Test print
ui-staff-test-printing = Printing ...
ui-staff-test-printed = Test page printed.
ui-staff-test-print-failed = Test print failed: { $error }
ui-staff-restart = Restart kiosk
ui-staff-by-type = Today by item type (loans / returns)
ui-staff-by-type-none = No loans or returns yet today.
ui-staff-type-others = Others
ui-staff-type-gone = (no longer in the catalogue)
# Item types (items.item_type): a type without a line here shows its own code.
item-type-book = Books
item-type-magazine = Magazines
item-type-dvd = DVDs
item-type-reference = Reference
item-type-kit = Kits
item-type-default = Other items
# E-mailed receipts ([receipt] email); $to is the reader's address, masked.
ui-email-receipt = E-mail it to { $to }
ui-receipt-emailing = Sending your receipt by e-mail ...
ui-receipt-emailed = Your receipt is on its way by e-mail.
