# Fixed phrases of every message, in English.
# Placeables: $name, $hospital, $when, $department, $campus, $phone, $url, $title.

## Dates and times: chrono strftime patterns, read by Tocsin's date formatter.
date-format = %A %-d %B %Y
time-format = %H:%M
datetime = { $date } at { $time }

## E-mail
email-subject = { $hospital }: { $title }
email-updated = Message of { $when }

## Greetings
greeting-patients = Dear { $name },
greeting-gps = Dear Dr { $name },
greeting-media = Dear { $name },

## Appointments
appointment-cancelled = Your appointment on { $when } at { $department } ({ $campus } campus) is cancelled.
appointment-postponed = Your appointment on { $when } at { $department } ({ $campus } campus) is postponed.
appointment-as-planned = Your appointment on { $when } at { $department } ({ $campus } campus) goes ahead as planned.
what-to-do-cancelled = You need not do anything: we will contact you to book a new appointment. If your complaint is urgent, call your GP or, outside surgery hours, the GP out-of-hours service on 1733. In a life-threatening emergency, call 112.
what-to-do-postponed = You need not do anything: we will contact you to agree a new date. If your complaint is urgent, call your GP or, outside surgery hours, the GP out-of-hours service on 1733. In a life-threatening emergency, call 112.
what-to-do-as-planned = Please come to your appointment as planned.

## SMS: short, and only GSM-7 characters, so one message costs one part.
sms-appointment-cancelled = Your appointment on { $when }, { $department }, is cancelled.
sms-appointment-postponed = Your appointment on { $when }, { $department }, is postponed.
sms-appointment-as-planned = Your appointment on { $when }, { $department }, goes ahead as planned.
sms-sender = { $hospital }:

## GPs and press: the list of a GP's patients says what the update says of their appointments
gps-intro = This message is for general practitioners.
gps-affected-intro-cancelled = The appointments of these patients of yours are cancelled:
gps-affected-intro-postponed = The appointments of these patients of yours are postponed:
gps-affected-intro-as-planned = The appointments of these patients of yours go ahead as planned:
media-label = PRESS RELEASE
media-contact = Press contact: { $phone }

## Closing
questions = Questions? Call { $phone } or see { $url }.
signature = The crisis team of { $hospital }
footer-patients = You receive this message because you have an appointment at { $hospital }.
footer-gps = You receive this message as a GP in the region of { $hospital }.
footer-media = You receive this message because you are on the press list of { $hospital }.

## Departments and campuses
dept-cardiology = Cardiology
dept-orthopaedics = Orthopaedics
dept-gastroenterology = Gastroenterology
dept-ophthalmology = Ophthalmology
dept-paediatrics = Paediatrics
dept-dermatology = Dermatology
dept-radiology = Radiology
dept-day-surgery = Day Surgery
dept-oncology = Oncology
dept-neurology = Neurology
campus-antwerpen = Antwerp
campus-deurne = Deurne
