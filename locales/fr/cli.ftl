# Les phrases propres à la ligne de commande, en français : résumés, questions et erreurs.
# Pas les messages aux destinataires (ils sont dans messages.ftl). Intégré au programme.
# Au-dessus de chaque message, les variables qu'il reçoit ; un test et la vérification au
# démarrage refusent un message qui en utilise une autre. Les nombres ($count, etc.) sont
# groupés par milliers comme le français les écrit (12 345) ; numéros, fichiers et noms sont du
# texte. Une ligne que la ligne de commande met en retrait reçoit ce retrait du code : Fluent
# supprime les espaces en tête. Devant : ; ? ! s'écrit une espace insécable (U+00A0).

## Formats (motifs strftime de chrono)
cli-date-format = %d/%m/%Y
# Un moment, dans le fuseau horaire de l'hôpital.
cli-datetime-format = %d/%m/%Y à %-Hh%M

## Le cadre de chaque erreur et avertissement
# $message
error-line = erreur : { $message }
# $label, $value: "sms: 43", a label and what it labels
labelled = { $label } : { $value }
# $message, $cause: an error and what caused it
error-cause = { $message } : { $cause }
# $message
warning-line = ATTENTION : { $message }
# $value
warning-unknown-language = attention : TOCSIN_LANG={ $value } n'est pas une langue de la ligne de commande (nl, fr ou en) : Tocsin répond en anglais
# $reason
error-runtime = impossible de démarrer le moteur d'exécution : { $reason }
# $reason
error-stdout = impossible d'écrire sur la sortie standard : { $reason }
# $url
error-database = base de données { $url }
# $path, $reason
error-read = impossible de lire { $path } : { $reason }
# $path
error-create = impossible de créer { $path }
error-io-not-found = ce fichier ou ce dossier n'existe pas
error-io-permission = accès refusé
error-io-directory = c'est un dossier
# $id
error-update-not-found = la mise à jour { $id } n'existe pas (tocsin update list les montre)
# $id, $author
error-same-author = la mise à jour { $id } a été rédigée par { $author } : une deuxième personne doit l'approuver (principe des quatre yeux)
# $id, $state
error-not-draft = la mise à jour { $id } est à l'état « { $state } » ; seul un brouillon peut être approuvé
# $id
error-not-approved = la mise à jour { $id } est un brouillon : une deuxième personne doit l'approuver avant qu'elle soit envoyée
# $file, $reason
error-unreadable = { $file } : { $reason } ; rien n'a été importé
# $file
error-draft-not-stored = { $file } n'a pas été enregistré :
# $action, $file
error-placeholders = Tocsin refuse { $action } : les messages porteraient les coordonnées d'exemple d'un hôpital, pas les vôtres. Indiquez dans { $file } :
error-placeholders-no-file = tocsin.toml (il n'y en a pas dans le dossier de travail ; ou passez --config FICHIER)
# $section, $key
error-placeholder-empty = [{ $section }] { $key } est vide
# $section, $key, $value
error-placeholder-example = [{ $section }] { $key } vaut encore l'exemple « { $value } »
error-placeholders-check = `tocsin check` montre tout ce que la configuration fera.
action-draft = d'enregistrer une mise à jour comme brouillon
action-approve = d'approuver une mise à jour
action-send = d'envoyer une mise à jour
action-press-export = d'exporter la salle de presse
action-serve = de lancer tocsin serve
action-worker = de lancer tocsin worker
# $count
error-check-problems = { $count ->
        [one] { $count } point à corriger
       *[other] { $count } points à corriger
    } avant que tocsin puisse envoyer

## tocsin check: its verdict
check-warnings = Avertissements :
check-nothing-missing = Rien ne manque : les mises à jour peuvent être rédigées et envoyées.
check-missing = Manquant ou incorrect (tocsin refuse d'envoyer tant que ce n'est pas corrigé) :

## Serve
# $address
serve-receipts = Réception des accusés de remise sur http://{ $address }/receipts/… (Ctrl-C pour arrêter)
# $address
serve-press = Salle de presse sur http://{ $address }/
# $address
serve-console = Console du porte-parole et de la cellule de crise sur http://{ $address }/console
serve-no-dispatch = Aucun envoi ici : les processus tocsin worker envoient (accusés de remise, salle de presse et console seulement)

## Worker
worker-started = Envoi des mises à jour en cours, partagé avec tous les autres workers de cette base de données (Ctrl-C pour arrêter)
# $sent, $finished
worker-stopped = Arrêté : { $finished ->
        [one] { $finished } envoi réglé
       *[other] { $finished } envois réglés
    } par ce worker, dont { $sent } envoyés

## Migrate
# $version, $description
migrate-done = Le schéma de la base de données est à jour : version { $version } ({ $description })

## Désinscriptions
# $contact, $channel
optout-added = { $contact } : désinscrit de { $channel }
# $contact, $channel
optout-already = { $contact } : était déjà désinscrit de { $channel }
# $contact, $channel
optout-removed = { $contact } : reçoit de nouveau les messages par { $channel }
# $contact, $channel
optout-not-there = { $contact } : n'était pas désinscrit de { $channel }

## Publics
# $spec, $count
audience-contacts = { $spec } : { $count ->
        [one] { $count } contact
       *[other] { $count } contacts
    }
# $list: "nl 12, fr 3"
audience-by-language = par langue : { $list }
# $list
audience-reachable = joignables par : { $list }

## Exports
# $count, $file
export-unreached-written = { $count ->
        [one] { $count } contact non joint écrit
       *[other] { $count } contacts non joints écrits
    } dans { $file }
# $count, $file
audit-written = { $count ->
        [one] { $count } entrée du journal d'audit écrite
       *[other] { $count } entrées du journal d'audit écrites
    } dans { $file }
# $dir, $written, $unchanged, $removed
press-export-summary = { $dir } : { $written ->
        [one] { $written } fichier écrit
       *[other] { $written } fichiers écrits
    }, { $unchanged ->
        [one] { $unchanged } inchangé
       *[other] { $unchanged } inchangés
    }, { $removed ->
        [one] { $removed } supprimé
       *[other] { $removed } supprimés
    }
# $path
press-export-removed = supprimé : { $path }

## update draft
# $id, $kind, $author
draft-stored = Mise à jour { $id } enregistrée comme brouillon ({ $kind }, par { $author }).
draft-sms-heading = Les textes SMS tels qu'ils sont écrits :
# $language, $encoding, $parts, $units
draft-sms-language = [{ $language }] : { $encoding }, { $parts ->
        [one] { $parts } segment
       *[other] { $parts } segments
    }, { $units ->
        [one] { $units } caractère
       *[other] { $units } caractères
    }
# $chars
draft-forced-ucs2 = UCS-2 imposé par : { $chars }
# $parts, $proposal
draft-gsm7-version = version GSM-7 ({ $parts ->
        [one] { $parts } segment
       *[other] { $parts } segments
    }) : { $proposal }
draft-gsm7-hint = enregistrez à nouveau le brouillon avec --sms-gsm7 pour l'utiliser
# $id
draft-next = Étape suivante : tocsin update preview { $id } [--language nl|fr|en], puis tocsin update approve { $id } --by NOM   (une autre personne que l'auteur)
forecast-heading = Qui cette mise à jour atteint maintenant (comme tocsin update send la planifierait) :
# $spec, $count
forecast-audience = { $spec } : { $count ->
        [one] { $count } contact
       *[other] { $count } contacts
    }
# $count
forecast-shared = ; { $count ->
        [one] { $count } de plus, compté
       *[other] { $count } de plus, comptés
    } dans un public précédent
# $list
forecast-skipped = ignorés : { $list }
# $count
forecast-unreachable = joignables par aucun canal : { $count } (la liste du centre d'appel)
forecast-sms-heading = SMS tels que les destinataires les reçoivent (expéditeur, leurs propres rendez-vous), segments par message :
# $messages, $parts: "12 en 2 segments"
forecast-sms-parts = { $messages } en { $parts ->
        [one] { $parts } segment
       *[other] { $parts } segments
    }
# $language, $messages, $distribution, $parts
forecast-sms-language = [{ $language }] { $messages } SMS : { $distribution } = { $parts ->
        [one] { $parts } segment
       *[other] { $parts } segments
    }
# $contact, $parts, $encoding
forecast-longest = ; le plus long : { $contact } ({ $parts ->
        [one] { $parts } segment
       *[other] { $parts } segments
    }, { $encoding })
# $messages, $parts
forecast-total = total : { $messages } SMS, { $parts ->
        [one] { $parts } segment
       *[other] { $parts } segments
    } à payer

## update approve, preview, send, retry, halt, discard, revoke, list
# $id, $by
approved = Mise à jour { $id } approuvée par { $by }. Étape suivante : tocsin update send { $id }
# $channel, $address, $contact, $external, $name, $language
preview-heading = === { $channel } à { $address } (contact { $contact }, { $external }), { $name }, { $language }
# $channel, $address, $contact, $external, $name, $language
preview-heading-stored = === { $channel } à { $address } (contact { $contact }, { $external }), { $name }, { $language }, tel qu'envoyé
preview-no-address = (pas d'adresse)
# $subject
preview-subject = Objet : { $subject }
preview-html = --- Partie HTML ---
# $id
send-planned-before = La mise à jour { $id } était déjà planifiée : rien de nouveau n'est planifié.
# $id, $count
update-fallback-planned = Mise à jour { $id } : { $count ->
        [one] { $count } envoi planifié
       *[other] { $count } envois planifiés
    } sur le canal de repli (tocsin serve ou tocsin update send { $id } les envoie).
# $count, $skipped
send-planned = { $count ->
        [one] { $count } envoi planifié
       *[other] { $count } envois planifiés
    } ({ $skipped ->
        [one] { $skipped } ignoré
       *[other] { $skipped } ignorés
    } : désinscrits ou sans adresse).
# $count
send-resumed = { $count ->
        [one] { $count } envoi repris
       *[other] { $count } envois repris
    }, retenus par l'exécution arrêtée précédemment.
# $count, $by
retry-sent = { $count ->
        [one] { $count } envoi renvoyé
       *[other] { $count } envois renvoyés
    } à la demande de { $by }.
# $count, $by, $resumed
retry-sent-and-resumed = { $count ->
        [one] { $count } envoi renvoyé
       *[other] { $count } envois renvoyés
    } à la demande de { $by }, et { $resumed ->
        [one] { $resumed } envoi retenu
       *[other] { $resumed } envois retenus
    } par une exécution arrêtée.
# $id, $by, $count
halted = Mise à jour { $id } arrêtée par { $by } : { $count ->
        [one] { $count } envoi annulé
       *[other] { $count } envois annulés
    }. Un envoi en cours s'arrête en moins d'une seconde ; les messages déjà remis à une passerelle ne sont pas rappelés.
# $id, $by
discarded = Brouillon { $id } abandonné par { $by } : il ne sera jamais envoyé.
# $id, $by
revoked = Approbation de la mise à jour { $id } retirée par { $by } : elle redevient un brouillon. Étape suivante : tocsin update approve { $id } --by NOM, ou tocsin update discard { $id }
# $author
list-by = (par { $author })
# $author, $approver
list-by-approved = (par { $author }, approuvée par { $approver })

## La fin de update send et update retry, et son code de sortie
# $count, $id
run-missed = { $count ->
        [one] { $count } envoi n'a pas atteint
       *[other] { $count } envois n'ont pas atteint
    } son destinataire (échoué, non distribuable ou incertain). La liste du centre d'appel : tocsin export unreached { $id } --csv FICHIER
# $count
run-stopped = L'exécution s'est ARRÊTÉE avec { $count ->
        [one] { $count } envoi retenu
       *[other] { $count } envois retenus
    }, rien de perdu :
# $id
run-stopped-fix = Corrigez la cause (tocsin check montre la configuration), puis : tocsin update send { $id }
# $id
run-stopped-refused = Refusés entre-temps, à renvoyer une fois corrigé : tocsin update retry { $id } --state undeliverable [--reason TEXTE]
# $id
# $id, $by
update-returned = Mise à jour { $id } renvoyée à son auteur par { $by } : elle reste un brouillon.
# $id, $at, $timezone
update-scheduled = Mise à jour { $id } à envoyer le { $at } ({ $timezone }) par tocsin serve ou un tocsin worker, dont l’un doit alors tourner.
# $id, $by, $count
update-paused = Mise à jour { $id } mise en pause par { $by } : { $count ->
        [one] { $count } envoi retenu
       *[other] { $count } envois retenus
    }. Pour reprendre : tocsin update resume { $id }
# $id, $by, $count
update-resumed = Mise à jour { $id } reprise par { $by } : { $count ->
        [one] { $count } envoi de nouveau prévu
       *[other] { $count } envois de nouveau prévus
    } ; tocsin serve les envoie (ou : tocsin update send { $id }).
# $by, $comment
list-returned = renvoyée par { $by } : { $comment }
# $id
run-paused = La mise à jour { $id } a été mise en pause : le reste attend. Pour reprendre : tocsin update resume { $id }
run-halted = La mise à jour { $id } a été arrêtée : plus rien n'en est envoyé.
# $done, $open, $sent, $undeliverable, $failed, $uncertain, $rate, $waiting, $notes ($rate and $notes are built from the messages below, or empty)
progress-line = terminés : { $done } sur { $open } (envoyés : { $sent }, non distribuables : { $undeliverable }, échoués : { $failed }, incertains : { $uncertain }{ $rate }) ; en attente : { $waiting }{ $notes }
# $rate
progress-rate = , { $rate }/s
# $error
progress-last-error = ; dernière erreur : { $error }
# $line
progress-prefix = progression : { $line }

## Imports
# $file, $count, $rejected
import-optouts = { $file } : { $count ->
        [one] { $count } désinscription appliquée
       *[other] { $count } désinscriptions appliquées
    }, { $rejected ->
        [one] { $rejected } refusée
       *[other] { $rejected } refusées
    }
# $file
import-optouts-rejects = Lignes refusées, avec la raison : { $file }
# $file, $records, $accepted, $rejected ($accepted is one of the three below, with a space between them)
import-read = { $file } : { $records ->
        [one] { $records } enregistrement lu
       *[other] { $records } enregistrements lus
    }, { $accepted } { $rejected ->
        [one] { $rejected } refusé
       *[other] { $rejected } refusés
    }
# $count
import-accepted = { $count ->
        [one] { $count } accepté
       *[other] { $count } acceptés
    },
# $count, $kept
import-accepted-kept = { $count ->
        [one] { $count } accepté
       *[other] { $count } acceptés
    }, dont { $kept } sans un champ ;
# $count
import-skipped = { $count ->
        [one] { $count } écarté
       *[other] { $count } écartés
    } (voir les remarques) ;
# $new, $updated, $unchanged
import-contacts = contacts :     { $new ->
        [one] { $new } nouveau
       *[other] { $new } nouveaux
    }, { $updated } mis à jour, { $unchanged ->
        [one] { $unchanged } inchangé
       *[other] { $unchanged } inchangés
    }
# $new, $updated, $unchanged
import-appointments = rendez-vous :  { $new ->
        [one] { $new } nouveau
       *[other] { $new } nouveaux
    }, { $updated } mis à jour, { $unchanged ->
        [one] { $unchanged } inchangé
       *[other] { $unchanged } inchangés
    }
# $count
import-conflicts = conflits :      { $count ->
        [one] { $count } non fusionné
       *[other] { $count } non fusionnés
    } : l'identifiant d'un contact connu, mais une autre personne (rien n'en a été écrit ; voir tocsin import conflicts)
# $line, $field, $message
import-note = remarque, ligne { $line } : { $field } : { $message }
# $file
import-rejects = Enregistrements refusés et ceux gardés sans un champ, avec la raison par champ : { $file }

## import conflicts
# $id, $contacts, $new, $updated
conflict-accepted = Conflit { $id } accepté : l'enregistrement est fusionné ({ $contacts } contact mis à jour, { $new ->
        [one] { $new } nouveau rendez-vous
       *[other] { $new } nouveaux rendez-vous
    }, { $updated } mis à jour).
# $id
conflict-rejected = Conflit { $id } refusé : rien de cet enregistrement n'est importé.
conflicts-none = Aucun conflit d'importation.
conflicts-none-open = Aucun conflit d'importation ouvert.
# $date
conflict-born = né(e) le { $date }
conflict-born-unknown = date de naissance inconnue
# $id, $state, $identity, $reason
conflict-line = #{ $id } ({ $state ->
        [accepted] accepté
        [rejected] refusé
       *[open] ouvert
    }) { $identity } — { $reason }
# $id, $state, $by, $identity, $reason
conflict-line-decided = #{ $id } ({ $state ->
        [accepted] accepté
        [rejected] refusé
       *[open] ouvert
    } par { $by }) { $identity } — { $reason }
# $source
conflict-from = de { $source }
# $id, $name, $role, $born, $external
conflict-known = connu :    #{ $id } { $name } ({ $role }, { $born }, { $external })
conflict-known-several = connu :    plusieurs contacts
# $name, $role, $born, $count
conflict-imported = importé :  { $name } ({ $role }, { $born }), { $count ->
        [one] { $count } rendez-vous retenu
       *[other] { $count } rendez-vous retenus
    }
conflict-decide = Décidez avec : tocsin import conflicts --accept NUMÉRO (la même personne : fusionner) ou --reject NUMÉRO (une autre personne : n'en rien importer, corrigez l'export)

## Comptes et journal d'audit
# $name, $role
user-added = utilisateur { $name } ajouté, rôle { $role }
user-contact-set = l'adresse personnelle pour les messages de test est enregistrée
# $name
user-contact-set-for = utilisateur { $name } : l'adresse personnelle pour les messages de test est enregistrée
user-set-needs = indiquez --email ADRESSE, --phone NUMÉRO ou les deux
# $until
user-setup-token = lien d'activation (affiché une seule fois, valable jusqu'au { $until }), à ouvrir à l'adresse de la console :
user-flag-disabled = désactivé
user-flag-no-password = pas encore de mot de passe (code d'activation)
# $name
user-disabled = utilisateur { $name } désactivé ; ses sessions sont terminées
# $name
prompt-password = mot de passe pour { $name } :
prompt-password-again = le même mot de passe, encore une fois :
error-password-read = impossible de lire le mot de passe
error-password-stdin = impossible de lire le mot de passe sur l'entrée standard
error-passwords-differ = les deux mots de passe diffèrent ; rien n'a été modifié

## tocsin status : où en est chaque envoi d'une mise à jour
# $id
status-draft = La mise à jour { $id } est un brouillon : rien n'est planifié ni envoyé.
# $id
status-draft-next = Étape suivante : tocsin update preview { $id }, puis tocsin update approve { $id } --by NOM (une autre personne que l'auteur)
# $id
status-discarded = La mise à jour { $id } a été abandonnée : rien n'en est envoyé.
# $id
status-approved-empty = La mise à jour { $id } est approuvée mais pas envoyée : rien n'est encore planifié.
# $id, $count
status-approved = La mise à jour { $id } est approuvée et planifiée, pas envoyée : { $count ->
        [one] { $count } envoi
       *[other] { $count } envois
    }.
# $id
status-next-send = Étape suivante : tocsin update send { $id }
# $id, $count
status-paused = La mise à jour { $id } est en pause : { $count ->
        [one] { $count } envoi
       *[other] { $count } envois
    }
# $id, $count
status-sending = La mise à jour { $id } est en cours d'envoi : { $count ->
        [one] { $count } envoi
       *[other] { $count } envois
    } (tocsin update send { $id } ou tocsin serve l'achève)
# $id, $count
status-sent = La mise à jour { $id } a été envoyée : { $count ->
        [one] { $count } envoi
       *[other] { $count } envois
    }
# $id, $count
status-halted = La mise à jour { $id } a été arrêtée : { $count ->
        [one] { $count } envoi
       *[other] { $count } envois
    } ; ce qui n'était pas parti est annulé
# $count, $reason
status-paused-reason = EN PAUSE, { $count ->
        [one] { $count } retenu
       *[other] { $count } retenus
    } : { $reason }
# $id
status-paused-fix = une fois corrigé : tocsin update send { $id }
status-column-rows = canal/langue
status-row-all = total
# $gateway
status-row-gateway = sms via { $gateway }
status-breakers = Passerelles SMS, disjoncteur :
# $when
status-breaker-since = depuis { $when }
# $error
status-breaker-error = (dernière erreur : { $error })
# $count
status-unreached = Contacts non joints : { $count }
# $count, $tocsin, $id
status-unreached-more = … et { $count } de plus : { $tocsin } export unreached { $id } --csv FICHIER [--channel C] [--state S] [--reason TEXTE]
# The columns: a delivery's state.
state-pending = en attente
state-sending = en cours
state-sent = envoyé
state-delivered = remis
state-failed = échoué
state-undeliverable = non distribuable
state-skipped = ignoré
state-cancelled = annulé
state-uncertain = incertain

## Quatre yeux par compte (update draft, approve, return)
# $name, $known : les comptes autorisés à rédiger, ou foureyes-none-yet
foureyes-unknown-author = l'auteur « { $name } » n'est pas un compte : dès que Tocsin a des comptes, l'auteur d'une mise à jour doit en être un. Donnez le nom du compte avec --by NOM (ou author = "NOM" dans le fichier), ou ajoutez-le : tocsin user add NOM --role author (comptes autorisés à rédiger : { $known })
# $name, $known : les comptes des approbateurs, ou foureyes-none-yet
foureyes-unknown-reviewer = « { $name } » n'est pas un compte : dès que Tocsin a des comptes, qui approuve ou renvoie une mise à jour doit avoir un compte de rôle approver. Donnez-le avec --by NOM, ou ajoutez-le : tocsin user add NOM --role approver (approbateurs : { $known })
foureyes-none-yet = aucun pour l'instant
# $name
foureyes-disabled-draft = le compte { $name } est désactivé : il ne peut pas rédiger de mise à jour
# $name
foureyes-disabled-review = le compte { $name } est désactivé : il ne peut ni approuver ni renvoyer une mise à jour
# $name, $role
foureyes-role-draft = { $name } est un compte de rôle { $role }, qui ne rédige pas de mise à jour : donnez avec --by NOM un compte de rôle author ou approver
# $name, $role
foureyes-role-review = { $name } est un compte de rôle { $role } : seul un approver approuve ou renvoie une mise à jour
# $id, $author
foureyes-author-not-account = la mise à jour { $id } a été rédigée par « { $author } », qui n'est pas un compte : le principe des quatre yeux ne peut pas vérifier que la personne qui l'approuve est une autre. Rédigez-la à nouveau sous le compte de son auteur (tocsin update draft FICHIER --by NOM), puis abandonnez celle-ci (tocsin update discard { $id })
foureyes-by-names = Attention : Tocsin n'a pas de comptes ; le principe des quatre yeux ne compare donc que les noms saisis (author du fichier, --by) et ne voit pas une même personne sous deux noms. Dès qu'il y a des comptes (tocsin user add NOM --role author ou approver), la rédaction et l'approbation doivent les nommer.

## Une mise à jour programmée que tocsin serve n'a pas pu démarrer (status)
# $since, $reason
schedule-not-started = NON DÉMARRÉE : tocsin serve n'a pas pu la démarrer à l'heure prévue (la première fois le { $since }) : { $reason }
# $id
schedule-not-started-fix = corrigez la cause : tocsin serve réessaie toutes les 5 secondes (ou retirez l'approbation : tocsin update revoke { $id })
