# Why the kiosk said no, in plain words, with what to do next.
# Keys are refusal- plus the stable refusal code (underscores as dashes).

refusal-unknown-patron = We don't recognise this card. Please ask staff at the desk.
refusal-card-expired = Your card expired on { $expired }. Please renew it at the desk.
refusal-patron-blocked = Your card is blocked ({ $reason }). Please see staff at the desk.
refusal-fines-over-limit = You owe { $owed } in fines; borrowing stops at { $limit }. Please pay at the desk.
refusal-too-many-overdue = You have { $overdue } overdue { $overdue ->
    [one] item
   *[other] items
}; borrowing stops at { $limit }. Please return them before borrowing more.
refusal-max-loans-reached = You already have { $max } { $max ->
    [one] item
   *[other] items
} on loan, the most your card allows. Return something first.
refusal-unknown-item = We can't find this item in our records. Please give it to staff.
refusal-item-not-for-loan = This item is for use in the library only.
refusal-item-needs-staff = This item is marked "{ $status }". Please give it to staff.
refusal-item-on-hold-for-another = This item is reserved for another reader. Please give it to staff.
refusal-already-on-loan-to-you = You already have this item, due { $due }. You can renew it instead.
refusal-item-on-loan-to-another = Our records show this item on loan to someone else. Please give it to staff.
refusal-incomplete-set = Only { $seen } of { $parts } parts were found. Please place all parts of the set on the pad.
refusal-not-on-loan-to-you = This item is not on loan to you, so it can't be renewed.
refusal-max-renewals-reached = This item has been renewed { $max } { $max ->
    [one] time
   *[other] times
} already, the most allowed. Please return it.
refusal-renewal-blocked-by-hold = Another reader is waiting for this item, so it can't be renewed. Please return it by its due date.
refusal-too-soon-to-renew = This item is already due on { $due }; renewing now would not give you more time.
refusal-item-available = This item is on the shelf now: you can borrow it right away.
refusal-hold-already-placed = You have already reserved this title.
refusal-max-holds-reached = You already have { $max } { $max ->
    [one] reservation
   *[other] reservations
}, the most your card allows.
refusal-hold-not-found = You have no reservation for this title.
refusal-pin-required = Please enter your PIN.
refusal-wrong-pin = That PIN is not right. You have { $attempts } { $attempts ->
    [one] try
   *[other] tries
} left.
refusal-pin-locked = Too many wrong PINs. This card is locked at this kiosk until { $until }. Please ask staff.
refusal-pin-unavailable = Your PIN can't be checked right now (the library system can't be reached), so this can't be done here. Please try again later or ask staff.
refusal-invalid-barcode = This barcode can't be read correctly ({ $detail }). Please try again or ask staff.
refusal-offline-unavailable = The library system can't be reached right now, so this can't be done. Please try again later or ask staff.
refusal-offline-returns-only = The library system can't be reached right now: you can return items, but not borrow. Please ask staff.
refusal-offline-limit-reached = While the library system is offline you can borrow at most { $max } { $max ->
    [one] item
   *[other] items
}. Please ask staff.
refusal-upstream-refused = The library system says: { $message }. Please ask staff if you need help.
