# Fixed phrases of every message, in French (Belgium).
# A locales_dir in the configuration may replace this file (see README, "Changing a sentence").
# Variables each message is given are listed above it; the check at start refuses a message
# that uses another one.
# Write a plain space before : ; ? and ! — e-mails and Telegram get a non-breaking one, SMS
# keep the plain space (a non-breaking space is not GSM-7).

## Dates and times: chrono strftime patterns, read by Tocsin's date formatter.
date-format = %A %-d %B %Y
time-format = %-Hh%M
# $date, $time
datetime = { $date } à { $time }
# The SMS's short form: "mar. 13/01 à 9h30".
sms-date-format = %a. %d/%m
sms-time-format = %-Hh%M
# $date, $time
sms-datetime = { $date } à { $time }

## E-mail
# $hospital, $title
email-subject = { $hospital } – { $title }
# $when
email-updated = Envoyé le { $when }

## Greetings: $name is the contact's full name.
greeting-patients = Madame, Monsieur,
greeting-gps = Chère Consœur, cher Confrère,
greeting-media = Madame, Monsieur,
# A contact without a name.
greeting-unnamed = Madame, Monsieur,

## Appointments: $when, $department, $campus (as campus-name writes it).
appointment-cancelled = Votre rendez-vous du { $when } en { $department } ({ $campus }) est annulé.
appointment-postponed = Votre rendez-vous du { $when } en { $department } ({ $campus }) est reporté.
appointment-as-planned = Votre rendez-vous du { $when } en { $department } ({ $campus }) est maintenu.
# $campus
campus-name = campus { $campus }
# $count: the patient's appointments in this message.
what-to-do-cancelled = Ne vous présentez pas à l'hôpital pour { $count ->
        [one] ce rendez-vous
       *[other] ces rendez-vous
    }. Vous n'avez aucune démarche à faire : nous vous recontacterons pour fixer un nouveau rendez-vous. En cas de problème urgent, appelez votre médecin traitant ou, le soir et le week-end, le service de garde de médecine générale au 1733. En cas d'urgence vitale, appelez le 112.
what-to-do-postponed = Ne vous présentez pas à l'hôpital pour { $count ->
        [one] ce rendez-vous
       *[other] ces rendez-vous
    }. Vous n'avez aucune démarche à faire : nous vous recontacterons pour convenir d'une nouvelle date. En cas de problème urgent, appelez votre médecin traitant ou, le soir et le week-end, le service de garde de médecine générale au 1733. En cas d'urgence vitale, appelez le 112.
what-to-do-as-planned = Présentez-vous à { $count ->
        [one] votre rendez-vous
       *[other] vos rendez-vous
    } comme prévu.

## SMS: short, and only GSM-7 characters (é, è, à, ù are; ç, ê, ô, î are not), so that a
## message takes as few parts as possible.
# $hospital (the short name)
sms-sender = { $hospital } :
# $when (the short form), $department
sms-appointment-cancelled = Votre rendez-vous du { $when } ({ $department }) est annulé.
sms-appointment-postponed = Votre rendez-vous du { $when } ({ $department }) est reporté.
sms-appointment-as-planned = Votre rendez-vous du { $when } ({ $department }) est maintenu.
# $phone
sms-what-to-do-cancelled = Ne vous déplacez pas. Questions ? Appelez le { $phone }.
sms-what-to-do-postponed = Ne vous déplacez pas, nous vous recontacterons pour une nouvelle date. Questions ? Appelez le { $phone }.
sms-what-to-do-as-planned = Présentez-vous comme prévu. Questions ? Appelez le { $phone }.
sms-questions = Questions ? Appelez le { $phone }.
sms-media-contact = Presse : { $phone }.

## GPs: the list of a GP's patients says what the update says of their appointments.
gps-intro = Ce message est destiné aux médecins généralistes.
gps-affected-intro-cancelled = Les rendez-vous suivants de vos patients sont annulés :
gps-affected-intro-postponed = Les rendez-vous suivants de vos patients sont reportés :
gps-affected-intro-as-planned = Les rendez-vous suivants de vos patients sont maintenus :
# $when, $department, $campus
gp-patient-appointment = { $when }, { $department }, { $campus }
# $date
gp-patient-born = °{ $date }

## Press
media-label = COMMUNIQUÉ DE PRESSE
# $phone (the press line), $url
media-contact = Contact presse : { $phone }. Plus d'informations : { $url }

## Closing
# $phone, $url
questions = Des questions ? Appelez le { $phone } ou consultez { $url }
# $hospital
signature = La cellule de crise de { $hospital }
footer-patients = Vous recevez ce message parce que vous avez un rendez-vous chez { $hospital }.
footer-gps = Vous recevez ce message en tant que médecin généraliste de la zone desservie par { $hospital }.
footer-media = Vous recevez ce message parce que vous figurez sur la liste de presse de { $hospital }.

## Press room: the public pages and feeds (shared by pages and feeds)
# $hospital
press-title = { $hospital } : communications sur la crise
press-kind-alert = Alerte
press-kind-update = Mise à jour
press-kind-cancel = Annulation
press-kind-allclear = Fin de la crise
press-withdrawn = L'envoi de ce message a été interrompu.
# $reference
press-reference = Référence : { $reference }

## Press room: the feeds (Atom, RSS, JSON Feed) and the CAP alerts
# $hospital
press-feed-description = Les communications officielles de { $hospital } pendant la crise, les plus récentes d'abord. Vérifiez la référence d'un message sur ce site.
# $kind (press-kind-*), $title (the update's)
press-feed-entry-title = { $kind } : { $title }
# $hospital
press-cap-title = { $hospital } : alertes CAP (nl, fr, en)
# $phone: the press line, as a CAP alert's contact.
press-cap-contact = Presse : { $phone }

## Press room: the public pages
# Each language's name in that language, for the language switcher and the headings of the
# press release's parts.
press-language-name = Français
press-choose-language = Choisissez votre langue
press-skip = Aller au contenu
press-languages = Langue
press-menu = Menu
press-timeline-link = Toutes les communications
press-timeline-heading = Toutes les communications, la plus récente d'abord
press-no-updates = Aucune communication pour le moment.
# $when: date and time in Brussels
press-published = Publié le { $when }
press-contact-heading = Contact
press-hospital-phone = Patients et proches
press-press-phone = Presse
press-feeds-heading = Suivre les communications
press-feed-atom = Flux Atom
press-feed-rss = Flux RSS
press-feed-json = JSON Feed
press-feed-cap = Alertes CAP (pour les services de secours et les diffuseurs)
# $hospital
press-footer = Communications officielles de { $hospital }. Ces pages ne dépendent pas du site web de l'hôpital.
press-check-link = Vérifier un message
press-check-title = Ce message vient-il vraiment de nous ?
# $hospital
press-check-intro = Chaque message de { $hospital } (SMS, e-mail, ce site) porte une référence, comme ci-dessous. Saisissez la référence pour vérifier que le message vient bien de nous.
press-check-field = Référence
press-check-button = Vérifier
press-check-list-heading = Toutes les références que nous avons émises
# $hospital
press-check-list-note = Une référence absente de cette liste n'a pas été émise par { $hospital }.
# $reference, $hospital
press-check-genuine = La référence { $reference } correspond à un message authentique de { $hospital }.
# $reference, $hospital
press-check-not-issued = La référence { $reference } n'a pas été émise par { $hospital }.
press-check-advice = Ne cliquez sur aucun lien de ce message, n'appelez aucun numéro qu'il indique et ne communiquez ni données personnelles ni données de paiement. En cas de doute, appelez l'hôpital au numéro ci-dessous.
# $phone
press-check-call = Appeler l'hôpital : { $phone }
press-check-again = Vérifier une autre référence
press-not-found-title = Page introuvable
press-not-found-text = Cette page n'existe pas. Toutes les communications figurent sur la page d'accueil.

## Messages: the public reference on every message, and the press release in three languages
# $reference
sms-reference = Réf. { $reference }
message-check = Vérifiez que ce message vient bien de nous :
message-page = Lire ce message en ligne :
telegram-invite = Suivez les mises à jour sur Telegram :
sms-telegram-invite = Mises à jour sur Telegram :
message-feeds = Suivez nos communications :
# $feed (its name: Atom, RSS, JSON Feed, CAP), $url
message-feed = { $feed } : { $url }
# The languages in the order the press release gives them: this one first, then the others.
release-languages = Ce communiqué figure ci-dessous en français, en néerlandais et en anglais.

## Telegram bot: what the bot itself says in a chat, and its description in Telegram
# $hospital. Shown before someone starts the bot: at most 512 characters.
bot-description = Les communications officielles de { $hospital } lors d'un incident, en français, en néerlandais ou en anglais. Appuyez sur Démarrer pour les recevoir ici.
# $hospital. At most 120 characters.
bot-short-description = Communications officielles de { $hospital } en cas d'incident.
# The command list Telegram shows: 3 to 256 characters each.
bot-command-start = Recevoir nos communications ici
bot-command-language = Choisir votre langue
bot-command-status = Afficher la dernière communication
bot-command-verify = Vérifier la référence d'un message
bot-command-stop = Ne plus recevoir nos communications
bot-command-help = Ce que fait ce bot
# $hospital
bot-welcome = Bienvenue. Vous recevrez ici les communications officielles de { $hospital } lorsqu'un événement vous concerne : un incident, des rendez-vous modifiés, le retour à la normale. Pour choisir une autre langue, envoyez /langue. Pour ne plus les recevoir, envoyez /stop.
# $hospital
bot-linked = La connexion est établie. Vous recevrez désormais ici les messages de { $hospital } concernant vos rendez-vous. Pour ne plus les recevoir, envoyez /stop.
bot-already-linked = Vous recevez déjà nos messages dans cette conversation.
# $phone: the hospital's
bot-link-expired = Ce lien a expiré. Demandez-nous-en un nouveau ou appelez-nous au { $phone }.
# $phone
bot-link-used = Ce lien a déjà été utilisé dans une autre conversation. Un lien ne sert qu'une fois : demandez-nous-en un nouveau ou appelez-nous au { $phone }.
# $phone
bot-link-invalid = Ce lien n'est pas valable. Vérifiez que vous l'avez copié en entier, ou appelez-nous au { $phone }.
# $phone
bot-link-unknown = Ce lien ne nous permet plus de joindre personne. Appelez-nous au { $phone }.
bot-choose-language = Dans quelle langue souhaitez-vous recevoir nos messages ?
bot-language-set = Nous vous écrirons désormais en français.
bot-not-subscribed = Vous ne recevez pas nos communications dans cette conversation. Envoyez /start pour les recevoir.
bot-stopped = Vous ne recevrez plus nos communications ici. Pour les recevoir à nouveau, envoyez /start.
# $when (date and time in Brussels), $title, $reference, $url (its page in the press room)
bot-status =
    Dernière communication, { $when } :
    { $title }
    Référence : { $reference }
    Lire en ligne : { $url }
bot-status-none = Aucune communication pour le moment.
# $reference, $hospital, $title, $when, $url
bot-verify-genuine = ✅ La référence { $reference } correspond à un message authentique de { $hospital } : « { $title } », { $when }. Lire en ligne : { $url }
# $reference, $hospital, $phone
bot-verify-not-issued = ⚠️ La référence { $reference } n'a pas été émise par { $hospital }. Ne cliquez sur aucun lien de ce message, n'appelez aucun numéro qu'il indique et ne communiquez ni données personnelles ni données de paiement. En cas de doute, appelez-nous au { $phone }.
# $example: a reference of ours
bot-verify-usage = Envoyez après /verify la référence imprimée sur le message, par exemple : /verify { $example }
# $hospital
bot-help =
    Ce bot envoie les communications officielles de { $hospital }.
    /start – recevoir nos communications ici
    /langue – choisir votre langue
    /status – la dernière communication
    /verify RÉFÉRENCE – vérifier qu'un message vient bien de nous
    /stop – ne plus recevoir nos communications

## La console (tocsin serve, /console). Rôles : author, approver, admin.

console-nav-compose = Nouveau message
console-compose-heading = Nouveau message
console-compose-intro = Rédigez le message une seule fois, en néerlandais, en français et en anglais. Une langue manquante empêche l'approbation.
console-compose-failed = Le brouillon n'a pas été enregistré. Corrigez ce qui est signalé ci-dessous ; tout ce que vous avez saisi est conservé.
console-compose-start-follow = Reprendre un message précédent (son numéro)
console-compose-start-playbook = Partir d'un scénario d'incident
console-compose-blanks = Remplacez chaque [[…]] par les faits du jour et relisez chaque texte : le brouillon est refusé tant qu'il reste un blanc.
console-compose-start = Partir de celui-ci
console-compose-about = Le message
console-compose-incident = Incident (un nom court, p. ex. cyberattack-2026-01)
console-compose-kind = Type
console-compose-kind-alert = Alerte
console-compose-kind-update = Mise à jour
console-compose-kind-cancel = Annulation d'un message précédent
console-compose-kind-allclear = Fin d'alerte
console-compose-follows = Fait suite au message n° (facultatif)
console-compose-appointments = Ce qu'on dit aux patients de leurs rendez-vous
console-compose-outcome-cancelled = Annulés
console-compose-outcome-postponed = Reportés
console-compose-outcome-as-planned = Maintenus comme prévu
console-compose-audiences = Qui le reçoit
console-compose-audience-patients = Les patients ayant un rendez-vous
console-compose-audience-gps-of-affected = Les médecins traitants de ces patients
console-compose-audience-all-gps = Tous les médecins généralistes
console-compose-audience-media = La liste de presse
console-compose-from = Du (jour)
console-compose-to = Au (jour, inclus)
console-compose-campus = Campus (facultatif)
console-compose-department = Service (facultatif)
console-compose-count = Compter les destinataires
console-compose-channels = Canaux
console-compose-channel-sms = SMS
console-compose-channel-email = E-mail
console-compose-channel-telegram = Telegram
console-compose-texts = Les textes
console-compose-title = Titre
console-compose-body = Texte
console-compose-sms = Texte du SMS
console-compose-sms-gsm7 = Remplacer chaque texte de SMS par sa version GSM-7 (moins de parties, moins cher)
console-compose-check = Vérifier le SMS
console-compose-cap = Alerte CAP de la salle de presse
console-compose-cap-urgency = Urgence
console-compose-cap-severity = Gravité
console-compose-cap-certainty = Certitude
console-compose-cap-response_type = Réaction attendue
console-compose-cap-default = La valeur par défaut de ce type
console-compose-save = Enregistrer comme brouillon
console-compose-problem-incident = Donnez à l'incident un nom court fait de lettres, de chiffres et de tirets.
console-compose-problem-follows = Indiquez le numéro du message précédent, ou laissez vide.
console-compose-problem-audiences = Cochez au moins un public.
console-compose-problem-channels = Cochez au moins un canal.
console-compose-problem-language = Le texte en { $language } manque : chaque message est rédigé en néerlandais, en français et en anglais, et une langue manquante empêche l'approbation.
console-compose-problem-empty = { $part } ({ $language }) est vide.
console-compose-counts = Destinataires à cet instant, par langue et par adresse
console-compose-col-audience = Public
console-compose-col-contacts = Personnes
console-compose-col-mobile = Mobile
console-compose-col-email = E-mail
console-compose-col-telegram = Telegram
console-compose-col-none = Aucune adresse
console-compose-counts-none = Cochez un public pour voir combien de personnes il atteint.
console-compose-counts-refused = Ces publics ne peuvent pas être comptés :
console-compose-sms-written = Tel que rédigé : { $encoding }, { $characters } caractères, { $parts ->
    [one] 1 partie
   *[other] { $parts } parties
}.
console-compose-sms-forcing = Caractères qui imposent l'UCS-2 :
console-compose-sms-proposal = Version GSM-7 ({ $parts ->
    [one] 1 partie
   *[other] { $parts } parties
}) :
console-compose-sms-rendered = Tel que les destinataires le reçoivent : { $messages } SMS, { $total ->
    [one] 1 partie
   *[other] { $total } parties
} en tout.
console-compose-sms-distribution = { $count } SMS de { $parts ->
    [one] 1 partie
   *[other] { $parts } parties
}
console-compose-sms-longest = Le plus long : { $encoding }, { $characters } caractères, { $parts ->
    [one] 1 partie
   *[other] { $parts } parties
} :
console-compose-sms-nobody = Personne dans les publics choisis ne reçoit encore de SMS dans cette langue.
console-compose-sms-empty = Rédigez un texte de SMS pour voir ce qu'il coûte.
console-test-title = M'envoyer un test
console-test-intro = Le message tel qu'un patient, un médecin généraliste ou un journaliste le recevrait, marqué comme test, à votre propre adresse et à personne d'autre. Il ne compte pas comme un envoi ; le journal d'audit l'enregistre.
console-test-reader = Le lire en tant que
console-test-reader-patient = Patient
console-test-reader-gp = Médecin généraliste
console-test-reader-journalist = Journaliste
console-test-language = Langue
console-test-channel = L'envoyer par
console-test-submit = M'envoyer le test
console-test-sent = Le test est en route vers votre propre adresse.
console-test-failed = Le test n'a pas été envoyé :
console-test-no-address = Vous n'avez pas encore d'adresse e-mail ni de numéro de mobile à vous dans Tocsin. Demandez à l'administrateur de les ajouter (tocsin user set).
test-mark = TEST
console-compose-language-nl = néerlandais
console-compose-language-fr = français
console-compose-language-en = anglais
console-title = Console de crise Tocsin
console-skip = Aller au contenu
console-nav = Console
console-nav-updates = Communications
console-nav-audit = Journal d'audit
console-language = Langue
console-signed-in-as = Session de { $name } ({ $role })
console-role-author = rédacteur
console-role-approver = approbateur
console-role-admin = administrateur
console-sign-out = Se déconnecter
console-login-title = Connexion
console-login-name = Nom d'utilisateur
console-login-password = Mot de passe
console-login-submit = Se connecter
console-login-failed = Nom d'utilisateur ou mot de passe incorrect.
console-login-password-set = Votre mot de passe est enregistré. Vous pouvez maintenant vous connecter.
console-setup-title = Choisissez votre mot de passe
console-setup-intro = Ce lien ne fonctionne qu'une fois. Choisissez un mot de passe d'au moins 12 caractères ; une phrase dont vous vous souviendrez est l'idéal.
console-setup-password = Nouveau mot de passe
console-setup-again = Le même mot de passe, une seconde fois
console-setup-submit = Enregistrer mon mot de passe
console-setup-mismatch = Les deux mots de passe diffèrent. Veuillez les saisir à nouveau.
console-setup-invalid = Ce lien n'est pas valable : il a déjà servi, il a expiré ou le compte a été désactivé. Demandez-en un nouveau à l'administrateur.
console-setup-weak = Ce mot de passe ne peut pas être utilisé :
console-updates-title = Communications
console-updates-none = Aucune communication pour l'instant.
console-col-id = N°
console-col-title = Titre
console-col-state = État
console-col-incident = Incident
console-col-author = Rédigée par
console-col-approver = Approuvée par
console-col-created = Créée
console-col-reference = Référence
console-state-draft = brouillon
console-state-approved = approuvée
console-state-sending = en cours d'envoi
console-state-sent = envoyée
console-state-halted = arrêtée
console-state-discarded = abandonnée
console-audit-title = Journal d'audit
console-audit-shown = Les { $shown } entrées les plus récentes sur { $total }. Le journal complet : tocsin audit export --csv FICHIER
console-col-at = Quand
console-col-user = Qui
console-col-action = Action
console-col-target = Sur
console-col-detail = Détail
console-col-remote = Depuis
console-error-title = Cela n'a pas fonctionné
console-error-forbidden = Votre rôle ne le permet pas.
console-error-csrf = Ce formulaire a expiré ou ne vient pas de la console. Revenez en arrière, rechargez la page et réessayez.
console-error-not-found = Cette page n'existe pas.
console-error-too-many = Trop de tentatives de connexion échouées. Attendez { $seconds } secondes, puis réessayez.
console-error-busy = Le serveur vérifie d'autres mots de passe. Attendez une seconde, puis réessayez.
console-error-refused = Ceci a été refusé :
console-error-internal = Un problème est survenu sur le serveur. Il a été journalisé ; réessayez dans un instant.
console-error-back = Retour aux communications
console-watch-title = Envoi de la communication { $id }
# Before the update's title, on its dashboard.
console-watch-heading = Envoi de la communication { $id } :
console-watch-back = Retour à la communication { $id }
console-watch-reload = Recharger les chiffres
console-watch-summary = { $settled ->
    [one] { $settled } envoi traité
   *[other] { $settled } envois traités
} sur { $total } ({ $percent } %)
console-watch-update-state = État de la communication :
console-watch-paused = En pause, envois retenus : { $held }. Motif :
console-watch-counts = Progression par canal, langue et public
console-watch-all = Ensemble
console-watch-nothing-planned = Rien n'est encore planifié.
console-watch-failures = Échecs et leurs motifs
console-watch-reasons-more = Autres motifs, non affichés : { $count } (tous : tocsin status --json).
console-watch-no-failures = Aucun échec jusqu'ici.
console-watch-gateways = Passerelles SMS
console-watch-no-gateways = Aucune passerelle SMS n'a pris de messages de cette communication.
console-watch-unreached = Personnes non jointes ({ $count })
console-watch-unreached-note = Au chargement de la page : les personnes pour qui il ne reste aucun canal à essayer. Le CSV est la liste du centre d'appels, telle que l'écrit tocsin export unreached.
console-watch-unreached-approvers = La liste des personnes non jointes, avec leurs numéros de téléphone, n'est visible que par les approbateurs.
console-watch-csv = Télécharger la liste (CSV)
console-watch-unreached-more = Non affichées ici : { $count } de plus. Le CSV les contient toutes.
console-watch-fallback-title = Canal de repli pour les personnes non jointes
console-watch-fallback-intro = Envoie la communication maintenant par le canal de repli (l'e-mail pour les patients) à toutes les personnes que le SMS n'a pas atteintes, y compris les SMS encore sans accusé de réception, sans attendre le délai configuré.
console-watch-fallback-submit = Envoyer maintenant le message par le canal de repli aux personnes non jointes
console-watch-fallback-approvers = Seul un approbateur peut le faire.
console-watch-fallback-done = Envois planifiés sur le canal de repli : { $count }.
console-col-channel = Canal
console-col-language = Langue
console-col-audience = Public
console-col-total = Total
console-col-count = Nombre
console-col-reason = Motif
console-col-gateway = Passerelle
console-col-breaker = Disjoncteur
console-col-since = Depuis
console-col-last-error = Dernière erreur
console-col-name = Nom
console-col-external-id = Identifiant de l'export
console-col-mobile = GSM
console-col-phone = Téléphone
console-col-why = Pourquoi non jointe
console-breaker-closed = fonctionne (fermé)
console-breaker-open = hors service (ouvert)
console-breaker-half-open = nouvel essai en cours (semi-ouvert)
console-breaker-unknown = inconnu (rien d'enregistré pour l'instant)
console-channel-email = E-mail
console-channel-sms = SMS
console-channel-telegram = Telegram
console-audience-patient = Patients
console-audience-gp = Médecins traitants
console-audience-journalist = Presse
console-audience-staff = Personnel
console-audience-public = Public (Telegram)
console-delivery-pending = en attente
console-delivery-sending = en cours d'envoi
console-delivery-sent = envoyé
console-delivery-delivered = remis
console-delivery-failed = échoué
console-delivery-undeliverable = impossible à remettre
console-delivery-skipped = ignoré
console-delivery-uncertain = incertain
console-delivery-cancelled = annulé
console-update-title = Communication { $id }
# Before the update's title, on its page.
console-update-heading = Communication { $id } :
console-update-kind = Type
console-kind-alert = alerte
console-kind-update = mise à jour
console-kind-cancel = annulation
console-kind-allclear = fin d'alerte
console-update-send-at-label = Envoi prévu le
console-update-paused = En pause
console-update-not-started = Non démarrée
# $since: when serve first could not start it
console-update-not-started-help = Tocsin serve n'a pas pu la démarrer à l'heure prévue (la première fois : { $since }) ; il réessaie toutes les 5 secondes. Corrigez la cause avec la personne qui gère le serveur, ou arrêtez la mise à jour.
console-update-watch = Suivre l'envoi
console-update-returned-by = Renvoyée par { $name } :
console-update-actions = Ce que vous pouvez faire
console-update-own = Vous avez rédigé cette communication : un autre approbateur doit la relire (principe des quatre yeux).
console-update-approve = Approuver
console-update-comment = Commentaire pour l'auteur (ce qu'il faut changer)
console-update-return = Renvoyer à l'auteur
console-update-send-now = Envoyer maintenant
console-update-send-at = Ou envoyer le (heure belge)
console-update-schedule = Envoyer à cette heure
console-update-pause = Mettre l'envoi en pause
console-update-resume = Reprendre l'envoi
console-update-halt = Arrêter
console-update-halt-warning = L'arrêt annule tout message qui n'est pas encore parti. Il est définitif.
console-update-texts = Les textes
console-lang-nl = Nederlands
console-lang-fr = Français
console-lang-en = English
console-field-body = Texte
console-field-sms = SMS
console-update-diff-title = Ce qui a changé
console-update-diff = Par rapport à la communication { $id } ({ $reference }).
console-diff-legend = Barré : supprimé ; souligné : ajouté.
console-update-diff-none = C'est la première communication sur cet incident.
console-update-unchanged = Inchangé.
console-update-audiences = Qui elle atteint
console-col-contacts = Contacts
console-col-languages = Par langue
console-col-reachable = Joignables par
console-reach-mobile = GSM
console-reach-email = e-mail
console-reach-telegram = Telegram
console-reach-none = aucune adresse
console-update-previews = Ce qu'ils reçoivent
console-update-previews-intro = Pour le premier lecteur de chaque public dans chaque langue, sur chaque canal, exactement comme ce serait envoyé maintenant.
console-preview-none = Pas d'aperçu dans cette langue :
console-preview-to = à { $name } ({ $id })
console-preview-skipped = Pas envoyé sur ce canal :
console-preview-subject = Objet :
console-preview-html = Le HTML de l'e-mail (source)
console-compose-preview = Aperçu
console-compose-preview-intro = Ce que reçoivent un patient, un médecin traitant et un journaliste des publics choisis, dans chaque langue et sur chaque canal, exactement tel que ce serait envoyé maintenant. L'aperçu suit ce que vous tapez ; la référence est attribuée à l'enregistrement du brouillon.
console-compose-preview-button = Afficher l'aperçu
console-compose-preview-ask = Cliquez sur « Afficher l'aperçu » pour voir ce qu'ils reçoivent.
console-compose-preview-refused = Le brouillon ne peut pas encore être enregistré tel quel :
console-compose-preview-blanks = { $language }, { $part } : encore à écrire : { $blanks }
console-compose-preview-no-audience = Cochez un public pour voir ce que reçoivent ses lecteurs.
console-compose-preview-audience = Un public est illisible : { $reason }
console-compose-preview-no-channel = Cochez un canal.
console-update-reviews = Relectures
console-reviews-none = Pas encore de relecture.
console-col-verdict = Avis
console-col-comment = Commentaire
console-verdict-approved = approuvée
console-verdict-returned = renvoyée
console-update-history = Historique
console-done-approved = Approuvée. Vous pouvez l'envoyer maintenant ou à l'heure de votre choix.
console-done-returned = Renvoyée à l'auteur avec votre commentaire.
console-done-send-now = Prête à partir : l'envoi commence dans quelques secondes.
console-done-scheduled = Programmée : l'envoi commencera à l'heure choisie.
console-done-paused = En pause : ce qui n'est pas parti attend que vous repreniez l'envoi.
console-done-resumed = Reprise : les messages retenus sont envoyés.
console-done-halted = Arrêtée : tout message qui n'était pas parti est annulé.
