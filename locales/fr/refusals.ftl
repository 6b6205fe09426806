# Ce que Tocsin refuse de faire, et pourquoi : dit par les pages de la console et par la ligne
# de commande, chacune dans sa langue (`src/app/refusal.rs`). `$state` est l'un des noms
# ci-dessous ; `$code` est le même état tel que le programme le nomme, seulement pour choisir.

# L'état d'une mise à jour, tel qu'une phrase le nomme.
update-state-draft = brouillon
update-state-approved = approuvée
update-state-planned = planifiée
update-state-sending = en cours d'envoi
update-state-sent = envoyée
update-state-halted = arrêtée
update-state-discarded = abandonnée

# Ce qui est arrivé à une mise à jour, tel que son historique dans la console le nomme.
update-event-approved = approuvée
update-event-returned = renvoyée à l'auteur
update-event-revoked = approbation retirée
update-event-discarded = abandonnée
update-event-scheduled = envoi programmé
update-event-paused = mise en pause
update-event-resumed = reprise
update-event-retried = envoyée à nouveau
update-event-halted = arrêtée

# $id, $state
refusal-nothing-more-sent = la mise à jour { $id } est à l'état « { $state } » : plus rien n'en est envoyé
# $id, $state
refusal-retry-not-sent = la mise à jour { $id } est à l'état « { $state } » : seule une mise à jour déjà envoyée peut être renvoyée
# $id, $state, $code
refusal-halt = la mise à jour { $id } est à l'état « { $state } » : seule une mise à jour approuvée ou en cours d'envoi peut être arrêtée{ $code ->
    [draft] { " " }(un brouillon s'abandonne : tocsin update discard)
   *[other] { "" }
}
# $id, $state, $code
refusal-discard = la mise à jour { $id } est à l'état « { $state } » : seul un brouillon peut être abandonné{ $code ->
    [approved] { " " }(retirez d'abord son approbation : tocsin update revoke)
    [sending] { " " }(pour l'arrêter : tocsin update halt)
    [sent] { " " }(pour l'arrêter : tocsin update halt)
   *[other] { "" }
}
# $id, $state, $code
refusal-revoke = la mise à jour { $id } est à l'état « { $state } » : on ne peut retirer l'approbation que d'une mise à jour approuvée dont l'envoi n'a pas commencé{ $code ->
    [planned] { " " }(pour l'arrêter : tocsin update halt)
    [sending] { " " }(pour l'arrêter : tocsin update halt)
    [sent] { " " }(pour l'arrêter : tocsin update halt)
   *[other] { "" }
}
# $id, $state
refusal-schedule = la mise à jour { $id } est à l'état « { $state } » : seule une mise à jour approuvée dont l'envoi n'a pas commencé peut être envoyée ou programmée
# $at
refusal-time-passed = { $at } est déjà passé : choisissez une heure plus tardive, ou envoyez maintenant
# $typed, $tz
refusal-not-a-time = « { $typed } » n'est pas une heure écrite comme 2026-12-01 09:30 (fuseau { $tz })
# $typed, $tz
refusal-no-such-time = { $typed } n'existe pas dans le fuseau { $tz }
refusal-comment-empty = dites ce que l'auteur doit changer : le commentaire est vide
# $max
refusal-comment-too-long = un commentaire compte au plus { $max } caractères
# $id, $state
refusal-pause = la mise à jour { $id } est à l'état « { $state } » : seule une mise à jour en cours d'envoi peut être mise en pause
# $id, $reason
refusal-pause-paused = la mise à jour { $id } est déjà en pause ({ $reason }) : seule une mise à jour en cours d'envoi peut être mise en pause
# $id
refusal-no-longer-sending = la mise à jour { $id } n'est plus en cours d'envoi
# $id, $state
refusal-resume = la mise à jour { $id } est à l'état « { $state } » et n'est pas en pause : il n'y a rien à reprendre
# $id, $state
refusal-fallback-not-sent = la mise à jour { $id } est à l'état « { $state } » : seule une mise à jour en cours d'envoi ou envoyée peut passer par le canal de repli
# $id, $reason
refusal-fallback-paused = la mise à jour { $id } est en pause ({ $reason }) : reprenez-la d'abord, puis envoyez par le canal de repli
# $contact, $external, $id, $channel
refusal-preview-contact = le contact { $contact } ({ $external }) ne fait partie d'aucun public de la mise à jour { $id }, ou ne reçoit rien{ $channel ->
    [sms] { " " }par SMS
    [email] { " " }par e-mail
    [telegram] { " " }par Telegram
   *[any] { "" }
}
# $id, $language, $channel
refusal-preview-language = aucun contact des publics de la mise à jour { $id } ne lit { $language ->
    [nl] le néerlandais
    [fr] le français
   *[en] l'anglais
    }{ $channel ->
    [sms] { " " }par SMS
    [email] { " " }par e-mail
    [telegram] { " " }par Telegram
   *[any] { "" }
}
# $id, $channel
refusal-preview-nobody = les publics de la mise à jour { $id } n'atteignent personne{ $channel ->
    [sms] { " " }par SMS
    [email] { " " }par e-mail
    [telegram] { " " }par Telegram
   *[any] { "" }
}
refusal-test-signed-in = un test part vers l'adresse personnelle de l'utilisateur connecté
# $user, $channel
refusal-test-no-address = { $channel ->
    [sms] { $user } n'a pas de numéro de GSM personnel pour un test : tocsin user set { $user } --phone
   *[email] { $user } n'a pas d'adresse e-mail personnelle pour un test : tocsin user set { $user } --email
}
# $channel
refusal-no-channel = { $channel ->
    [sms] aucun canal SMS n'est configuré
    [telegram] aucun canal Telegram n'est configuré
   *[email] aucun canal e-mail n'est configuré
}
# $reason
refusal-test-not-sent = le test n'a pas été envoyé : { $reason }
# $incident
refusal-incident-discarded = l'incident « { $incident } » n'a que des mises à jour abandonnées : partez d'un scénario (tocsin update playbooks)
# $incident
refusal-no-incident = il n'y a pas d'incident « { $incident } » (tocsin update list montre l'incident de chaque mise à jour)
# $file, $follows, $theirs, $ours
refusal-follows-other-incident = { $file } : follows = { $follows } appartient à l'incident « { $theirs } », pas à « { $ours } »
