// The HTTP contract of CommHub as an OpenAPI 3.1 document: every route,
// parameter, body, enum and error shape. Served at GET /api/openapi.json
// (see OpenAPIContract); this text is the one source of truth.
//
// Edit the JSON below when you add or change a route: OpenAPIContractTests
// fails when a registered route is not documented or a documented one is
// not registered, when an enum differs from CommHubDomain/Enums.swift, when
// an answer of the server has a field the document does not name, and when
// openapi-spec-validator rejects the document.
//
// Why a Swift string and not a bundle resource: on Linux `Bundle.module`
// stops the process when the resource bundle is not beside the binary, and
// `commhub` is deployed as one file; `.embedInCode` turns 150 KB into an
// array literal that takes minutes to compile.

let openAPIDocumentJSON = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "CommHub HTTP API",
    "version": "1.0.0",
    "description": "The HTTP contract of CommHub, the communication engine of ChargeCars and its brands. The server serves this document at GET /api/openapi.json (no token needed); it is the one source of truth and a test checks that it lists exactly the routes the server registers.\n\n- JSON everywhere, snake_case, enum values exactly as listed. Ids are UUIDs; times are ISO 8601 in UTC. Optional fields are left out of responses when unset; clients must ignore fields they do not know.\n- Every /api call needs `Authorization: Bearer <token>` (except this document). Webhooks are authenticated by the provider's signature.\n- Errors: the 4xx/5xx status and {\"error\": {\"code\": \"...\", \"message\": \"...\"}}. Bad input changes nothing. A 500 is a defect: report it with the X-Request-ID of the answer.\n- Paged lists take limit (1 to 500, default 50) and the opaque cursor from the previous page's next_cursor; the answer is {\"items\": [...], \"next_cursor\": \"...\" | null}.\n- Request bodies are at most 2 MiB. Rate limits apply per client address and per token (429 with Retry-After)."
  },
  "tags": [
    {
      "name": "threads",
      "description": "Conversations, one per case."
    },
    {
      "name": "messages",
      "description": "Messages, notes and calls in threads."
    },
    {
      "name": "tasks",
      "description": "Internal tasks."
    },
    {
      "name": "templates",
      "description": "Message templates."
    },
    {
      "name": "configuration",
      "description": "Channels, contacts, teams and routing rules."
    },
    {
      "name": "tokens",
      "description": "API tokens."
    },
    {
      "name": "directory",
      "description": "The customer directory (customers, organisations, orders)."
    },
    {
      "name": "ingest",
      "description": "Inbound events from gateways."
    },
    {
      "name": "audit",
      "description": "Who changed what."
    },
    {
      "name": "analytics",
      "description": "KPIs."
    },
    {
      "name": "events",
      "description": "The live event stream."
    },
    {
      "name": "webhooks",
      "description": "Provider callbacks, authenticated by the provider's signature (no bearer token)."
    },
    {
      "name": "operations",
      "description": "Health, metrics and this document."
    },
    {
      "name": "workflow",
      "description": "Business hours, the SLA ladder, task rules and the daily digest."
    },
    {
      "name": "privacy",
      "description": "GDPR: export and erasure of one customer's personal data (admins only); retention."
    }
  ],
  "security": [
    {
      "bearerAuth": []
    }
  ],
  "paths": {
    "/api/communication/threads": {
      "get": {
        "operationId": "listThreads",
        "tags": [
          "threads"
        ],
        "summary": "The inbox: threads the caller may see, most urgent first",
        "description": "Agents and team leaders see the threads of their teams and those assigned to them; managers, admins and executives see all. Note: status accepts the enum values or the single word all (the schema lists the enum values only).",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "status",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Thread statuses (default: the open ones). status=all lists every status. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/ThreadStatus"
              }
            }
          },
          {
            "name": "priority",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Priorities. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/Priority"
              }
            }
          },
          {
            "name": "thread_type",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Thread types. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/ThreadType"
              }
            }
          },
          {
            "name": "channel_type",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Channel type of the first message. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/ChannelType"
              }
            }
          },
          {
            "name": "business_entity",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Brands. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/BusinessEntity"
              }
            }
          },
          {
            "name": "assigned_to_contact_id",
            "in": "query",
            "required": false,
            "description": "Assigned to this person.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "customer_id",
            "in": "query",
            "required": false,
            "description": "Linked to this customer.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "order_id",
            "in": "query",
            "required": false,
            "description": "Linked to this order.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "team_id",
            "in": "query",
            "required": false,
            "description": "Assigned to this team.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "mine",
            "in": "query",
            "required": false,
            "description": "Assigned to the caller. true or false (1 and 0 are accepted too).",
            "schema": {
              "type": "boolean"
            }
          },
          {
            "name": "unassigned",
            "in": "query",
            "required": false,
            "description": "Waiting in a team queue. true or false (1 and 0 are accepted too).",
            "schema": {
              "type": "boolean"
            }
          },
          {
            "name": "overdue",
            "in": "query",
            "required": false,
            "description": "Response deadline passed. true or false (1 and 0 are accepted too).",
            "schema": {
              "type": "boolean"
            }
          },
          {
            "name": "q",
            "in": "query",
            "required": false,
            "description": "Text in the subject (case-insensitive).",
            "schema": {
              "type": "string"
            }
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "One page of threads: open ones by urgency (priority, then deadline), finished ones most recent first.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ThreadPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "post": {
        "operationId": "createThread",
        "tags": [
          "threads"
        ],
        "summary": "Create a thread",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ThreadCreate"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new thread, routed and assigned.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ThreadDetail"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/threads/{id}": {
      "get": {
        "operationId": "getThread",
        "tags": [
          "threads"
        ],
        "summary": "A thread with its messages and tasks",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "200": {
            "description": "The thread.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ThreadDetail"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "put": {
        "operationId": "updateThread",
        "tags": [
          "threads"
        ],
        "summary": "Change status, priority, type, subject, tags, links or assignment",
        "description": "Agents may take a thread of their team for themselves; team leaders reassign within their teams; managers and admins anywhere.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ThreadUpdate"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The thread after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ThreadDetail"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/messages": {
      "get": {
        "operationId": "listMessages",
        "tags": [
          "messages"
        ],
        "summary": "Messages of a thread, or the outbox",
        "description": "Give thread_id, or delivery_status with outbox statuses only.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "thread_id",
            "in": "query",
            "required": false,
            "description": "The thread's messages, oldest first.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "channel_type",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Channel types. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/ChannelType"
              }
            }
          },
          {
            "name": "delivery_status",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Delivery statuses. Without thread_id, only pending, sent, failed and bounced (the outbox, across threads) are allowed. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/DeliveryStatus"
              }
            }
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "One page of messages.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/MessagePage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "post": {
        "operationId": "createMessage",
        "tags": [
          "messages"
        ],
        "summary": "Send a message (outgoing), add a note (internal_note) or log a call",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/MessageCreate"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The stored message (an outgoing one is pending until its channel reports).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/messages/{id}": {
      "put": {
        "operationId": "updateMessage",
        "tags": [
          "messages"
        ],
        "summary": "Set a message's delivery status",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/MessageUpdate"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The message after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/tasks": {
      "get": {
        "operationId": "listTasks",
        "tags": [
          "tasks"
        ],
        "summary": "Tasks the caller may see, by due date",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "status",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Task statuses. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/TaskStatus"
              }
            }
          },
          {
            "name": "assigned_to_contact_id",
            "in": "query",
            "required": false,
            "description": "Assigned to this person.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "mine",
            "in": "query",
            "required": false,
            "description": "Assigned to the caller. true or false (1 and 0 are accepted too).",
            "schema": {
              "type": "boolean"
            }
          },
          {
            "name": "thread_id",
            "in": "query",
            "required": false,
            "description": "Of this thread.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "overdue",
            "in": "query",
            "required": false,
            "description": "Only pending tasks past their due moment. true or false (1 and 0 are accepted too).",
            "schema": {
              "type": "boolean"
            }
          },
          {
            "name": "due_today",
            "in": "query",
            "required": false,
            "description": "Only tasks whose due_date is today (Europe/Amsterdam). true or false.",
            "schema": {
              "type": "boolean"
            }
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "One page of tasks.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TaskPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "post": {
        "operationId": "createTask",
        "tags": [
          "tasks"
        ],
        "summary": "Create a task",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TaskCreate"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new task.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Task"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/tasks/{id}": {
      "put": {
        "operationId": "updateTask",
        "tags": [
          "tasks"
        ],
        "summary": "Change a task",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TaskUpdate"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The task after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Task"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "get": {
        "operationId": "getTask",
        "tags": [
          "tasks"
        ],
        "summary": "One task, with its overdue flag",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "200": {
            "description": "The task.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Task"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/templates": {
      "get": {
        "operationId": "listTemplates",
        "tags": [
          "templates"
        ],
        "summary": "Templates, by name (one page: next_cursor is always null)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "business_entity",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Brands (templates for all brands match any). Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/TemplateBusinessEntity"
              }
            }
          },
          {
            "name": "channel_type",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Channel types (templates for any channel match). Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/TemplateChannelType"
              }
            }
          },
          {
            "name": "template_category",
            "in": "query",
            "required": false,
            "style": "form",
            "explode": false,
            "description": "Categories. Comma-separated; any of the values matches.",
            "schema": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/TemplateCategory"
              }
            }
          },
          {
            "name": "is_active",
            "in": "query",
            "required": false,
            "description": "Only active (true) or inactive (false) templates.",
            "schema": {
              "type": "boolean"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "Every matching template.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TemplatePage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "post": {
        "operationId": "createTemplate",
        "tags": [
          "templates"
        ],
        "summary": "Create a template",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TemplateCreate"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new template.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Template"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/templates/{id}": {
      "get": {
        "operationId": "getTemplate",
        "tags": [
          "templates"
        ],
        "summary": "A template",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "200": {
            "description": "The template.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Template"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "put": {
        "operationId": "updateTemplate",
        "tags": [
          "templates"
        ],
        "summary": "Change a template",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TemplateUpdate"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The template after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Template"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/templates/{id}/render": {
      "post": {
        "operationId": "renderTemplate",
        "tags": [
          "templates"
        ],
        "summary": "Preview a template with variables",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RenderRequest"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The rendered texts and the variables that were missing.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RenderResult"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/communication/channels": {
      "get": {
        "operationId": "listChannels",
        "tags": [
          "configuration"
        ],
        "summary": "Channels, by name (one page: next_cursor is always null)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Every channel, without secret values.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ChannelPage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "post": {
        "operationId": "createChannel",
        "tags": [
          "configuration"
        ],
        "summary": "Create a channel",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ChannelCreate"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new channel.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Channel"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/channels/{id}": {
      "get": {
        "operationId": "getChannel",
        "tags": [
          "configuration"
        ],
        "summary": "A channel",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "200": {
            "description": "The channel, without secret values.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Channel"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "put": {
        "operationId": "updateChannel",
        "tags": [
          "configuration"
        ],
        "summary": "Change a channel (configuration keys given replace the non-secret configuration; secrets merge)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ChannelUpdate"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The channel after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Channel"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/contacts": {
      "get": {
        "operationId": "listContacts",
        "tags": [
          "configuration"
        ],
        "summary": "Internal people, by name (one page: next_cursor is always null)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Every contact.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ContactPage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "post": {
        "operationId": "createContact",
        "tags": [
          "configuration"
        ],
        "summary": "Create a contact",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ContactCreate"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new contact.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Contact"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/contacts/{id}": {
      "get": {
        "operationId": "getContact",
        "tags": [
          "configuration"
        ],
        "summary": "A contact",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "200": {
            "description": "The contact.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Contact"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "put": {
        "operationId": "updateContact",
        "tags": [
          "configuration"
        ],
        "summary": "Change a contact (anyone may change their own presence)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ContactUpdate"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The contact after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Contact"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/contacts/{id}/tokens": {
      "post": {
        "operationId": "issuePersonToken",
        "tags": [
          "tokens"
        ],
        "summary": "Issue a token for a person",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TokenInput"
              }
            }
          },
          "description": "Optional; label defaults to 'api token'."
        },
        "responses": {
          "201": {
            "description": "The token with its secret (shown once).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/IssuedToken"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/gateway-tokens": {
      "post": {
        "operationId": "issueGatewayToken",
        "tags": [
          "tokens"
        ],
        "summary": "Issue a gateway token (may only call POST /api/ingest)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TokenInput"
              }
            }
          },
          "description": "Optional; label defaults to 'gateway'."
        },
        "responses": {
          "201": {
            "description": "The token with its secret (shown once).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/IssuedToken"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/tokens": {
      "get": {
        "operationId": "listTokens",
        "tags": [
          "tokens"
        ],
        "summary": "Tokens, oldest first (one page: next_cursor is always null)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Every token, revoked ones included; never their secrets.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TokenPage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/tokens/{id}": {
      "delete": {
        "operationId": "revokeToken",
        "tags": [
          "tokens"
        ],
        "summary": "Revoke a token",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "204": {
            "description": "Revoked; the token is refused from now on."
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/teams": {
      "get": {
        "operationId": "listTeams",
        "tags": [
          "configuration"
        ],
        "summary": "Teams with members and queue depth, by name (one page: next_cursor is always null)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Every team.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TeamPage"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "post": {
        "operationId": "createTeam",
        "tags": [
          "configuration"
        ],
        "summary": "Create a team",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TeamCreate"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new team.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Team"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/teams/{id}": {
      "put": {
        "operationId": "updateTeam",
        "tags": [
          "configuration"
        ],
        "summary": "Change a team",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TeamUpdate"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The team after the change.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Team"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/routing-rules": {
      "get": {
        "operationId": "getRoutingRules",
        "tags": [
          "configuration"
        ],
        "summary": "The global routing rules",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The rules.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AutoAssignmentRules"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "put": {
        "operationId": "setRoutingRules",
        "tags": [
          "configuration"
        ],
        "summary": "Replace the global routing rules",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/AutoAssignmentRules"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The rules now in force.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AutoAssignmentRules"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/directory": {
      "post": {
        "operationId": "upsertDirectory",
        "tags": [
          "directory"
        ],
        "summary": "Bulk upsert of the customer directory (what the ERP pushes)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/DirectoryUpsert"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "How many records were upserted.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DirectoryResult"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/customers": {
      "get": {
        "operationId": "listCustomers",
        "tags": [
          "directory"
        ],
        "summary": "Directory customers, by name",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "q",
            "in": "query",
            "required": false,
            "description": "Text in the name, an e-mail address or a phone number.",
            "schema": {
              "type": "string"
            }
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "One page of customers.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CustomerPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/orders/{number}": {
      "get": {
        "operationId": "getOrder",
        "tags": [
          "directory"
        ],
        "summary": "An order by its order number",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "number",
            "in": "path",
            "required": true,
            "description": "The order number.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The order.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Order"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/ingest": {
      "post": {
        "operationId": "ingest",
        "tags": [
          "ingest"
        ],
        "summary": "Push a batch of normalised inbound events (gateways)",
        "description": "For gateway tokens and admins. At most 1000 events per batch. Idempotent by channel_id + external_message_id.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/IngestBatch"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Per-item results, in order; answered once every created item is durable. One bad item does not stop the others.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/IngestResults"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "422": {
            "description": "The batch is empty, or every item failed.",
            "content": {
              "application/json": {
                "schema": {
                  "anyOf": [
                    {
                      "$ref": "#/components/schemas/IngestFailure"
                    },
                    {
                      "$ref": "#/components/schemas/ErrorBody"
                    }
                  ]
                }
              }
            }
          }
        }
      }
    },
    "/api/audit": {
      "get": {
        "operationId": "listAudit",
        "tags": [
          "audit"
        ],
        "summary": "The audit trail, oldest first",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "entity",
            "in": "query",
            "required": false,
            "description": "Entity kind, e.g. thread, channel, contact, token.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "entity_id",
            "in": "query",
            "required": false,
            "description": "Entity id.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "actor",
            "in": "query",
            "required": false,
            "description": "Changes made by this person.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "description": "Changes at or after this time.",
            "schema": {
              "$ref": "#/components/schemas/DateTime"
            }
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "$ref": "#/components/parameters/Cursor"
          }
        ],
        "responses": {
          "200": {
            "description": "One page of audit entries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AuditPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/analytics/overview": {
      "get": {
        "operationId": "analyticsOverview",
        "tags": [
          "analytics"
        ],
        "summary": "Live KPIs for managers",
        "description": "Managers, admins and executives see every team; team leaders their own teams.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "team_id",
            "in": "query",
            "required": false,
            "description": "Narrow to one team (team leaders: one of their own).",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The figures.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AnalyticsOverview"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/events": {
      "get": {
        "operationId": "events",
        "tags": [
          "events"
        ],
        "summary": "Live events over a WebSocket",
        "description": "A WebSocket (GET with Upgrade: websocket). Person tokens only: in the Authorization header, or as the first frame {\"token\":\"...\"} (browsers cannot set headers on a WebSocket).",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "description": "Replay every visible event after this sequence number first (from memory or the journal), so a reconnecting client misses nothing.",
            "schema": {
              "type": "integer",
              "minimum": 0,
              "maximum": 18446744073709551615,
              "format": "uint64"
            }
          }
        ],
        "responses": {
          "101": {
            "description": "Switched to the WebSocket protocol. The server sends text frames: first {\"type\":\"hello\",\"seq\":N}, then committed events the caller may see as {\"seq\":N,\"type\":\"message.created\"|\"message.updated\"|\"thread.updated\"|\"thread.assigned\"|\"task.assigned\",\"data\":{...}}, and {\"type\":\"resync\",\"from_seq\":N} when the client fell too far behind and must reload. Without an Authorization header the first client frame must be {\"token\":\"...\"}; an unknown token gets an error frame and a close with policy violation."
          },
          "404": {
            "description": "Not a WebSocket upgrade request (or since is not a number): the plain HTTP router has no /api/events.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          }
        },
        "security": [
          {
            "bearerAuth": []
          },
          {}
        ]
      }
    },
    "/api/openapi.json": {
      "get": {
        "operationId": "openapi",
        "tags": [
          "operations"
        ],
        "summary": "This document",
        "description": "No token needed: integrators read the contract before they have one.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The OpenAPI 3.1 document of the HTTP API.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        },
        "security": []
      }
    },
    "/healthz": {
      "get": {
        "operationId": "health",
        "tags": [
          "operations"
        ],
        "summary": "Health: the journal, the embedded gateway and what the restore did",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Serving.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            }
          },
          "503": {
            "description": "The journal does not take writes (degraded or stopped); the body says why.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "tags": [
          "operations"
        ],
        "summary": "Prometheus metrics",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Prometheus text format 0.0.4.",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/webhooks/whatsapp": {
      "get": {
        "operationId": "whatsAppVerify",
        "tags": [
          "webhooks"
        ],
        "summary": "Meta's webhook verification handshake",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "hub.mode",
            "in": "query",
            "required": true,
            "description": "subscribe",
            "schema": {
              "type": "string",
              "enum": [
                "subscribe"
              ]
            }
          },
          {
            "name": "hub.verify_token",
            "in": "query",
            "required": true,
            "description": "The channel's verify_token.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "hub.challenge",
            "in": "query",
            "required": true,
            "description": "Echoed back when the token matches.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "channel_id",
            "in": "query",
            "required": false,
            "description": "The channel this callback URL is for; without it every active whatsapp_business channel is a candidate.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The challenge, as sent.",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "403": {
            "description": "hub.verify_token does not match.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "description": "The channel's secrets cannot be opened (wrong master key).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          }
        },
        "security": []
      },
      "post": {
        "operationId": "whatsAppNotify",
        "tags": [
          "webhooks"
        ],
        "summary": "Meta Cloud API notifications (messages and receipts)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "X-Hub-Signature-256",
            "in": "header",
            "required": true,
            "description": "sha256=<hex HMAC-SHA256 of the raw body with the channel's app_secret>.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "channel_id",
            "in": "query",
            "required": false,
            "description": "The channel this callback URL is for; without it every active whatsapp_business channel is a candidate.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/JSONObject"
              }
            }
          },
          "description": "The notification as Meta sends it ({\"object\":\"whatsapp_business_account\",\"entry\":[...]})."
        },
        "responses": {
          "200": {
            "description": "Stored (answered once durable); Meta does not retry.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WhatsAppWebhookResult"
                }
              }
            }
          },
          "400": {
            "description": "The body is not a WhatsApp notification.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "401": {
            "description": "The signature is missing, malformed or does not match.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "404": {
            "description": "No (active) channel for the notification, or no app_secret configured.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "409": {
            "description": "Several channels share the business number; add ?channel_id= to the callback URL.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "500": {
            "description": "The channel's secrets cannot be opened (wrong master key).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "503": {
            "description": "The journal could not take an item; Meta retries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/webhooks/sms": {
      "post": {
        "operationId": "smsInbound",
        "tags": [
          "webhooks"
        ],
        "summary": "Twilio: an SMS or MMS a customer sent to one of our numbers",
        "description": "Idempotent on MessageSid (the message's external_message_id); the thread reference is sms_chat_id <our number>:<customer number>. MMS files (MediaUrl{N}) are fetched after the message is stored and become its attachments.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "X-Twilio-Signature",
            "in": "header",
            "required": true,
            "description": "base64(HMAC-SHA1(auth_token, the channel's webhook_url + every POST parameter sorted by name, name and value concatenated)); the URL is accepted with and without its scheme's default port.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "channel_id",
            "in": "query",
            "required": false,
            "description": "The channel this URL is for (then part of the signed URL); without it every active sms channel whose auth_token and URL verify the signature is a candidate, narrowed by our number, MessagingServiceSid and AccountSid.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "description": "Twilio's incoming-message parameters (MessageSid, AccountSid, From, To, Body, NumMedia, MediaUrl{N}, MediaContentType{N}, ...).",
          "content": {
            "application/x-www-form-urlencoded": {
              "schema": {
                "type": "object",
                "additionalProperties": {
                  "type": "string"
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Stored (answered once durable), or a repeat of a stored message: empty TwiML.",
            "content": {
              "text/xml": {
                "schema": {
                  "type": "string",
                  "examples": [
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
                  ]
                }
              }
            }
          },
          "400": {
            "description": "The form is malformed or a field is invalid (the error names it).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "401": {
            "description": "X-Twilio-Signature is missing, malformed or does not match.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "404": {
            "description": "No active sms channel for this webhook, or none with auth_token and webhook_url configured.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "409": {
            "description": "Several channels match; add ?channel_id= to each channel's webhook_url and to the URL in the Twilio console.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "description": "Not application/x-www-form-urlencoded (set the webhook's method to HTTP POST).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "422": {
            "description": "The engine refused the message.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "description": "The engine is not reachable or could not store it; Twilio retries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/webhooks/sms/status": {
      "post": {
        "operationId": "smsStatus",
        "tags": [
          "webhooks"
        ],
        "summary": "Twilio: status callbacks for messages we sent",
        "description": "MessageStatus maps to delivery_status (accepted, scheduled, queued, sending: pending; sent, partially_delivered: sent; delivered; read; undelivered: bounced; failed, canceled: failed) and never moves a message back. ErrorCode is kept as metadata.delivery_error.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "X-Twilio-Signature",
            "in": "header",
            "required": true,
            "description": "base64(HMAC-SHA1(auth_token, the channel's status_callback_url, else its webhook_url with /status added to the path + every POST parameter sorted by name, name and value concatenated)); the URL is accepted with and without its scheme's default port.",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "channel_id",
            "in": "query",
            "required": false,
            "description": "The channel this URL is for (then part of the signed URL); without it every active sms channel whose auth_token and URL verify the signature is a candidate, narrowed by our number, MessagingServiceSid and AccountSid.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "requestBody": {
          "required": true,
          "description": "Twilio's status-callback parameters (MessageSid, MessageStatus, ErrorCode, AccountSid, From, To, ...).",
          "content": {
            "application/x-www-form-urlencoded": {
              "schema": {
                "type": "object",
                "additionalProperties": {
                  "type": "string"
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Applied, unchanged (late or repeated) or ignored (an unknown MessageSid): empty TwiML.",
            "content": {
              "text/xml": {
                "schema": {
                  "type": "string",
                  "examples": [
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
                  ]
                }
              }
            }
          },
          "400": {
            "description": "The form is malformed or a field is invalid (the error names it).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "401": {
            "description": "X-Twilio-Signature is missing, malformed or does not match.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "404": {
            "description": "No active sms channel for this webhook, or none with auth_token and webhook_url configured.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "409": {
            "description": "Several channels match; add ?channel_id= to each channel's webhook_url and to the URL in the Twilio console.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "415": {
            "description": "Not application/x-www-form-urlencoded (set the webhook's method to HTTP POST).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "422": {
            "description": "The engine refused the message.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "description": "The engine is not reachable or could not store it; Twilio retries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/communication/messages/{id}/resend": {
      "post": {
        "operationId": "resendMessage",
        "tags": [
          "messages"
        ],
        "summary": "Send an undelivered message again, as a new message",
        "description": "For an outgoing message whose delivery failed, or is unknown (the gateway's lease ran out without a report: it may or may not have reached the customer). A person decides; CommHub never resends by itself. Once per message.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "201": {
            "description": "The new message (metadata.resend_of names the old one).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/attachments": {
      "post": {
        "operationId": "uploadAttachment",
        "tags": [
          "messages"
        ],
        "summary": "Store a file for an outgoing message",
        "description": "The raw bytes with Content-Type and Content-Length (at most 16 MiB; the types of AttachmentStore.allowedTypes). The answer names the file by sha256; an outgoing message lists it in attachments.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "file_name",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "maxLength": 255
            }
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/octet-stream": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            },
            "image/*": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            },
            "application/pdf": {
              "schema": {
                "type": "string",
                "format": "binary"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Stored.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/StoredFile"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "411": {
            "description": "No Content-Length.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/attachments/{sha256}": {
      "get": {
        "operationId": "getAttachment",
        "tags": [
          "messages"
        ],
        "summary": "A file of a message",
        "description": "Served only to those who may see the thread of message_id, and only when that message carries the file.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "sha256",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "message_id",
            "in": "query",
            "required": true,
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The file, with nosniff and a sandboxing Content-Security-Policy.",
            "content": {
              "application/octet-stream": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/analytics/{kpi}": {
      "get": {
        "operationId": "analyticsKPI",
        "tags": [
          "analytics"
        ],
        "summary": "One of the owner's KPIs, bucketed and sliced",
        "description": "From the analytics read model (see README, Analytics). Managers, admins and executives see everything; team leaders their own teams; agents their own figures.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "kpi",
            "in": "path",
            "required": true,
            "description": "The KPI.",
            "schema": {
              "type": "string",
              "enum": [
                "response_times",
                "resolution_times",
                "sla_compliance",
                "volume",
                "channel_preference",
                "workload",
                "escalation_rate",
                "reassignment_rate",
                "first_contact_resolution",
                "template_usage",
                "task_completion",
                "csat",
                "cost"
              ]
            }
          },
          {
            "name": "from",
            "in": "query",
            "required": false,
            "description": "Start (ISO 8601); default 7 days before `to`.",
            "schema": {
              "type": "string",
              "format": "date-time"
            }
          },
          {
            "name": "to",
            "in": "query",
            "required": false,
            "description": "End, exclusive (ISO 8601); default now.",
            "schema": {
              "type": "string",
              "format": "date-time"
            }
          },
          {
            "name": "bucket",
            "in": "query",
            "required": false,
            "description": "Hour buckets (range ≤ 31 days) or Europe/Amsterdam days (range ≤ 732 days).",
            "schema": {
              "type": "string",
              "enum": [
                "hour",
                "day"
              ]
            }
          },
          {
            "name": "channel_type",
            "in": "query",
            "required": false,
            "description": "Only this channel type.",
            "schema": {
              "$ref": "#/components/schemas/ChannelType"
            }
          },
          {
            "name": "team_id",
            "in": "query",
            "required": false,
            "description": "Only this team (team leaders: one of their own).",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "agent",
            "in": "query",
            "required": false,
            "description": "Only this person (agents: themselves).",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          {
            "name": "business_entity",
            "in": "query",
            "required": false,
            "description": "Only this brand.",
            "schema": {
              "type": "string",
              "enum": [
                "chargecars",
                "laderthuis",
                "meterkastthuis",
                "zaptecshop",
                "ratioshop"
              ]
            }
          },
          {
            "name": "thread_type",
            "in": "query",
            "required": false,
            "description": "Only this thread type.",
            "schema": {
              "type": "string",
              "enum": [
                "customer_support",
                "partner_inquiry",
                "installation_coordination",
                "technical_issue",
                "sales_inquiry",
                "complaint",
                "internal_task",
                "project_discussion"
              ]
            }
          },
          {
            "name": "group_by",
            "in": "query",
            "required": false,
            "description": "A series per value of this dimension.",
            "schema": {
              "type": "string",
              "enum": [
                "channel_type",
                "team_id",
                "agent",
                "business_entity",
                "thread_type"
              ]
            }
          },
          {
            "name": "format",
            "in": "query",
            "required": false,
            "description": "json (default) or csv (also chosen by Accept: text/csv).",
            "schema": {
              "type": "string",
              "enum": [
                "json",
                "csv"
              ]
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The KPI per bucket (and group), its total and target.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/KPIAnswer"
                }
              },
              "text/csv": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/workflow-settings": {
      "get": {
        "operationId": "getWorkflowSettings",
        "tags": [
          "workflow"
        ],
        "summary": "The workflow settings in force (defaults until set)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The settings.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WorkflowSettings"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "put": {
        "operationId": "setWorkflowSettings",
        "tags": [
          "workflow"
        ],
        "summary": "Replace the workflow settings: business hours, SLA targets and ladder, task targets and rules, digest",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/WorkflowSettings"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The settings now in force.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WorkflowSettings"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/webhooks/outlook": {
      "post": {
        "operationId": "outlookNotification",
        "tags": [
          "webhooks"
        ],
        "summary": "Microsoft Graph: change notifications of Outlook channels (mail, calendar)",
        "description": "Each notification is authenticated by its clientState (compared in constant time with its subscription's secret, kept sealed in the engine). Its id is resourceData.id. The message is fetched after the answer (GET /users/{mailbox}/messages/{id}) and ingested: a customer's mail as message, mail of Sent Items as outgoing_message; calendar events as calendar_follow_up. A duplicate notification never duplicates a message. Lifecycle notifications are handled here too when a subscription's lifecycle URL is this one.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "validationToken",
            "in": "query",
            "required": false,
            "description": "Graph's validation handshake on subscription create: answered 200 text/plain with the token URL-decoded, before any body is read.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": false,
          "description": "A changeNotificationCollection: {\"value\":[...]} of change notifications (subscriptionId, clientState, changeType, resource, resourceData.id) and/or lifecycle notifications (subscriptionId, clientState, lifecycleEvent: reauthorizationRequired, subscriptionRemoved, missed).",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "value"
                ],
                "properties": {
                  "value": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The validation handshake: the decoded validationToken.",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "202": {
            "description": "Accepted: every notification for a known subscription is durably queued in the engine (journaled) and fetched after this answer; notifications for unknown subscriptions are ignored."
          },
          "400": {
            "description": "The body is not a notification collection, or the validationToken is not URL-encoded UTF-8 (the error names the field).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "403": {
            "description": "A notification's clientState does not match its subscription's secret: nothing of the batch is queued.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "503": {
            "description": "The engine is not reachable, or the gateway has not loaded its Outlook channels yet: nothing is queued; Graph retries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          }
        }
      }
    },
    "/webhooks/outlook/lifecycle": {
      "post": {
        "operationId": "outlookLifecycle",
        "tags": [
          "webhooks"
        ],
        "summary": "Microsoft Graph: lifecycle notifications of Outlook subscriptions",
        "description": "reauthorizationRequired: the subscription is reauthorized (POST /subscriptions/{id}/reauthorize); subscriptionRemoved: it is created again, then its folder is caught up by delta; missed: its folder is caught up by delta. Authenticated by clientState like /webhooks/outlook, and the same validation handshake.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "validationToken",
            "in": "query",
            "required": false,
            "description": "Graph's validation handshake on subscription create: answered 200 text/plain with the token URL-decoded, before any body is read.",
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "required": false,
          "description": "A changeNotificationCollection: {\"value\":[...]} of change notifications (subscriptionId, clientState, changeType, resource, resourceData.id) and/or lifecycle notifications (subscriptionId, clientState, lifecycleEvent: reauthorizationRequired, subscriptionRemoved, missed).",
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "value"
                ],
                "properties": {
                  "value": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The validation handshake: the decoded validationToken.",
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "202": {
            "description": "Accepted: every notification for a known subscription is durably queued in the engine (journaled) and fetched after this answer; notifications for unknown subscriptions are ignored."
          },
          "400": {
            "description": "The body is not a notification collection, or the validationToken is not URL-encoded UTF-8 (the error names the field).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "403": {
            "description": "A notification's clientState does not match its subscription's secret: nothing of the batch is queued.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "503": {
            "description": "The engine is not reachable, or the gateway has not loaded its Outlook channels yet: nothing is queued; Graph retries.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorBody"
                }
              }
            }
          }
        }
      }
    },
    "/api/gdpr/customers/{id}/export": {
      "get": {
        "operationId": "exportCustomer",
        "tags": [
          "privacy"
        ],
        "summary": "Everything held about one customer, as one tar archive",
        "description": "A POSIX ustar archive: manifest.json, customer.json (with organisation), orders.json, tasks.json, audit.json (entries about the customer, their threads, messages, orders and tasks) and per thread threads/<id>/thread.json, messages.json (with bodies) and attachments/<sha256> (the files as received). The export is recorded in the audit trail (customer.export).",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The customer's id.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The archive.",
            "content": {
              "application/x-tar": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/gdpr/customers/{id}/erase": {
      "post": {
        "operationId": "eraseCustomer",
        "tags": [
          "privacy"
        ],
        "summary": "Erase a customer (crypto-shredding)",
        "description": "Removes the customer, their orders and the tasks about them from the directory; each of their threads stays as 'erased customer' with its timeline skeleton (ids, types, statuses, channels, times, delivery states). The data keys of the customer and of those threads are destroyed, so their records in the journal, the snapshots and any backup made afterwards can no longer be read; bodies and files are deleted. New messages are never matched to the erased person. Recorded in the audit trail (customer.erase). A second call answers 404.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The customer's id.",
            "schema": {
              "$ref": "#/components/schemas/Uuid"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "What was erased.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErasureResult"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/retention": {
      "get": {
        "operationId": "getRetention",
        "tags": [
          "privacy"
        ],
        "summary": "The retention policy",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The policy.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RetentionPolicy"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      },
      "put": {
        "operationId": "setRetention",
        "tags": [
          "privacy"
        ],
        "summary": "Set the retention policy (admins)",
        "description": "Enforced every 10 minutes at the engine's clock: a finished thread past its rule keeps only its skeleton (as after an erasure, subject 'expired (retention)'), its bodies, files and data key are destroyed. The audit trail has its own retention.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RetentionPolicy"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The policy now in force.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RetentionPolicy"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/api/communication/threads/{id}/merge": {
      "post": {
        "operationId": "mergeThread",
        "tags": [
          "threads"
        ],
        "summary": "Merge this thread into another about the same case",
        "description": "The thread's messages, references, tasks and deadline join the thread `into`; this thread is closed and points to it (merged_into_thread_id). Threads of different brands are not merged; a closed survivor is refused. Journaled, audited, and shown in both timelines.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ThreadMerge"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The surviving thread after the merge.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ThreadDetail"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/threads/{id}/split": {
      "post": {
        "operationId": "splitThread",
        "tags": [
          "threads"
        ],
        "summary": "Split a message, and what follows it, off into a new thread",
        "description": "The message and every later message move to a new thread (split_from_thread_id) with this thread's type, brand, links and assignment. Journaled, audited, and shown in both timelines.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ThreadSplit"
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The new thread.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ThreadDetail"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/threads/{id}/template-suggestions": {
      "get": {
        "operationId": "suggestTemplates",
        "tags": [
          "templates"
        ],
        "summary": "Templates that fit the thread, best first",
        "description": "Active templates whose brand (the thread's or all) and channel (the answer's or any) fit. Ranked by: the category of the thread's type (then follow_up while waiting for the customer); real sends in threads of the same type and brand; the brand's and channel's own before all/any; usage_count; name.",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          },
          {
            "$ref": "#/components/parameters/Limit"
          },
          {
            "name": "channel_type",
            "in": "query",
            "required": false,
            "description": "The channel of the answer; by default the one the customer last wrote on.",
            "schema": {
              "$ref": "#/components/schemas/ChannelType"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "Ranked suggestions.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TemplateSuggestionPage"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          }
        }
      }
    },
    "/": {
      "get": {
        "operationId": "webApp",
        "tags": [
          "web app"
        ],
        "summary": "The web app (HTML; its modules and styles under /assets/)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The app's page.",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/session": {
      "get": {
        "operationId": "currentSession",
        "tags": [
          "web app"
        ],
        "summary": "The browser's session: the person, the CSRF token for changes, the server's time",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The session.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/providers": {
      "get": {
        "operationId": "signInProviders",
        "tags": [
          "web app"
        ],
        "summary": "Which sign-in methods are on (password, Microsoft)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Providers.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/login": {
      "post": {
        "operationId": "signIn",
        "tags": [
          "web app"
        ],
        "summary": "Sign in with e-mail and password: sets the HttpOnly session cookie (limited per account and per address)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "additionalProperties": true
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Signed in; the session.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/logout": {
      "post": {
        "operationId": "signOut",
        "tags": [
          "web app"
        ],
        "summary": "Sign out: ends the session on the server and clears the cookie (needs X-CSRF-Token)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Signed out.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/invite/check": {
      "post": {
        "operationId": "checkInvite",
        "tags": [
          "web app"
        ],
        "summary": "Who an invite link is for (it stays unused)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "additionalProperties": true
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The invited person.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/invite/accept": {
      "post": {
        "operationId": "acceptInvite",
        "tags": [
          "web app"
        ],
        "summary": "Choose a password with an invite link (once) and sign in",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "additionalProperties": true
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Signed in; the session.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/oidc/start": {
      "get": {
        "operationId": "microsoftSignInStart",
        "tags": [
          "web app"
        ],
        "summary": "Sign in with Microsoft: redirect to Entra ID (authorization code flow with PKCE)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "302": {
            "description": "To Microsoft, or back to the app with #signin-error=...",
            "headers": {
              "Location": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/auth/oidc/callback": {
      "get": {
        "operationId": "microsoftSignInCallback",
        "tags": [
          "web app"
        ],
        "summary": "Entra ID's redirect back: checks state, redeems the code, verifies the ID token, sets the session cookie",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "code",
            "in": "query",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "state",
            "in": "query",
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "error",
            "in": "query",
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "302": {
            "description": "Back to the app.",
            "headers": {
              "Location": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        },
        "security": []
      }
    },
    "/api/me": {
      "get": {
        "operationId": "me",
        "tags": [
          "web app"
        ],
        "summary": "The signed-in person, their mention handle and unseen mentions",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The person.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/contacts/{id}/password": {
      "put": {
        "operationId": "setPassword",
        "tags": [
          "web app"
        ],
        "summary": "Set a person's password (admin), or change your own with current_password; ends their sessions",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "additionalProperties": true
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Password set.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/contacts/{id}/invite": {
      "post": {
        "operationId": "invitePerson",
        "tags": [
          "web app"
        ],
        "summary": "A one-time invite link (in the URL fragment) for a person to choose a password",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "201": {
            "description": "The invite link.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/sign-in/microsoft": {
      "get": {
        "operationId": "microsoftSignInSettings",
        "tags": [
          "web app"
        ],
        "summary": "Sign in with Microsoft settings (the client secret only as client_secret_set)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The settings.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "put": {
        "operationId": "setMicrosoftSignIn",
        "tags": [
          "web app"
        ],
        "summary": "Set tenant_id, client_id, client_secret, login_base_url, redirect_url, enabled (admin)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "additionalProperties": true
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The settings.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/push/key": {
      "get": {
        "operationId": "pushKey",
        "tags": [
          "web app"
        ],
        "summary": "The server's VAPID public key (applicationServerKey) for Web Push",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "The key.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/push/subscriptions": {
      "post": {
        "operationId": "subscribePush",
        "tags": [
          "web app"
        ],
        "summary": "Register a browser's push subscription (endpoint, keys.p256dh, keys.auth)",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "additionalProperties": true
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Subscribed.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      },
      "delete": {
        "operationId": "unsubscribePush",
        "tags": [
          "web app"
        ],
        "summary": "Remove one of your push subscriptions",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "endpoint",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "204": {
            "description": "Removed."
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/push/test": {
      "post": {
        "operationId": "testPush",
        "tags": [
          "web app"
        ],
        "summary": "Send a test notification to your subscriptions",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Counts sent and failed.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/mentions": {
      "get": {
        "operationId": "listMentions",
        "tags": [
          "web app"
        ],
        "summary": "Threads where you were @mentioned and have not looked since",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "responses": {
          "200": {
            "description": "Your mentions.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/mentions/seen": {
      "post": {
        "operationId": "mentionsSeen",
        "tags": [
          "web app"
        ],
        "summary": "You opened a thread: its mentions of you are seen",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "additionalProperties": true
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Seen.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/threads/{id}/mentionable": {
      "get": {
        "operationId": "mentionable",
        "tags": [
          "web app"
        ],
        "summary": "Who can be @mentioned in a thread's notes (those who may see it), with handles",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "200": {
            "description": "People.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/communication/threads/{id}/context": {
      "get": {
        "operationId": "threadContext",
        "tags": [
          "web app"
        ],
        "summary": "A thread's customer, organisation, order and the customer's other threads",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "$ref": "#/components/parameters/Id"
          }
        ],
        "responses": {
          "200": {
            "description": "The context.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    },
    "/api/orders/{number}/activity": {
      "get": {
        "operationId": "orderActivity",
        "tags": [
          "web app"
        ],
        "summary": "Every thread, note and task about one order, across customers and channels",
        "parameters": [
          {
            "$ref": "#/components/parameters/RequestID"
          },
          {
            "name": "number",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "The order's activity.",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "additionalProperties": true
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/TooLarge"
          },
          "422": {
            "$ref": "#/components/responses/Unprocessable"
          },
          "429": {
            "$ref": "#/components/responses/TooManyRequests"
          },
          "503": {
            "$ref": "#/components/responses/Unavailable"
          }
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A person's or a gateway's API token."
      }
    },
    "parameters": {
      "Limit": {
        "name": "limit",
        "in": "query",
        "required": false,
        "description": "Page size, 1 to 500 (default 50).",
        "schema": {
          "type": "integer",
          "minimum": 1,
          "maximum": 500,
          "default": 50
        }
      },
      "Cursor": {
        "name": "cursor",
        "in": "query",
        "required": false,
        "description": "The next_cursor of the previous page (opaque; a cursor this server did not give out is refused with 400).",
        "schema": {
          "type": "string",
          "minLength": 1
        }
      },
      "Id": {
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The entity's id (a UUID; anything else is answered 404).",
        "schema": {
          "$ref": "#/components/schemas/Uuid"
        }
      },
      "RequestID": {
        "name": "X-Request-ID",
        "in": "header",
        "required": false,
        "description": "Your request id, echoed in the X-Request-ID response header and the server log. Up to 128 characters; a longer one is ignored and the server makes one.",
        "schema": {
          "type": "string"
        }
      }
    },
    "responses": {
      "BadRequest": {
        "description": "The request is malformed: a query parameter, the JSON body or a field has the wrong form. The message names it.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "Unauthorized": {
        "description": "No, a malformed, an unknown or a revoked bearer token.",
        "headers": {
          "WWW-Authenticate": {
            "schema": {
              "type": "string"
            },
            "description": "Bearer"
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "Forbidden": {
        "description": "The token's role may not do this (gateway tokens may only call POST /api/ingest).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "NotFound": {
        "description": "No such entity, or the caller may not see it (no existence leak).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "Conflict": {
        "description": "The change conflicts with the current state (e.g. a name in use, an inactive channel).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "TooLarge": {
        "description": "The body is larger than 2 MiB (or a batch has too many items).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "Unprocessable": {
        "description": "The JSON is well-formed but a value is not acceptable (missing required field, out of range, unknown reference).",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "TooManyRequests": {
        "description": "Rate limited (per client address before authentication, per token after it).",
        "headers": {
          "Retry-After": {
            "schema": {
              "type": "integer"
            },
            "description": "Seconds to wait."
          }
        },
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      },
      "Unavailable": {
        "description": "The change could not be stored (journal unavailable, e.g. disk full); nothing was acknowledged. Retry later.",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/ErrorBody"
            }
          }
        }
      }
    },
    "schemas": {
      "Uuid": {
        "type": "string",
        "format": "uuid",
        "description": "A UUID, lower-case in responses.",
        "examples": [
          "3f2c1a9e-6b1d-4c55-9a0e-2f7d8c4b1e10"
        ]
      },
      "DateTime": {
        "type": "string",
        "format": "date-time",
        "description": "ISO 8601 time in UTC, e.g. 2026-11-25T10:30:00Z (fractions allowed)."
      },
      "JSONObject": {
        "type": "object",
        "description": "A free-form JSON object."
      },
      "ChannelType": {
        "type": "string",
        "description": "communication_channel.channel_type",
        "enum": [
          "email_outlook",
          "whatsapp_business",
          "internal_comment",
          "internal_task",
          "internal_ticket",
          "sms",
          "phone_call"
        ]
      },
      "ThreadType": {
        "type": "string",
        "description": "communication_thread.thread_type",
        "enum": [
          "customer_support",
          "partner_inquiry",
          "installation_coordination",
          "technical_issue",
          "sales_inquiry",
          "complaint",
          "internal_task",
          "project_discussion"
        ]
      },
      "Priority": {
        "type": "string",
        "description": "Priority of threads and tasks.",
        "enum": [
          "low",
          "normal",
          "high",
          "urgent",
          "critical"
        ]
      },
      "ThreadStatus": {
        "type": "string",
        "description": "communication_thread.status. resolved and closed are finished; the others are open.",
        "enum": [
          "open",
          "in_progress",
          "waiting_customer",
          "waiting_internal",
          "escalated",
          "resolved",
          "closed"
        ]
      },
      "MessageType": {
        "type": "string",
        "description": "communication_message.message_type",
        "enum": [
          "incoming",
          "outgoing",
          "internal_note",
          "system_notification",
          "auto_response"
        ]
      },
      "DeliveryStatus": {
        "type": "string",
        "description": "communication_message.delivery_status",
        "enum": [
          "pending",
          "sent",
          "delivered",
          "read",
          "failed",
          "bounced"
        ]
      },
      "TaskType": {
        "type": "string",
        "description": "internal_task.task_type",
        "enum": [
          "follow_up",
          "callback",
          "send_email",
          "schedule_visit",
          "escalate",
          "research",
          "documentation",
          "approval_request",
          "other"
        ]
      },
      "TaskStatus": {
        "type": "string",
        "description": "internal_task.status",
        "enum": [
          "open",
          "in_progress",
          "waiting",
          "completed",
          "cancelled"
        ]
      },
      "TemplateCategory": {
        "type": "string",
        "description": "communication_template.template_category",
        "enum": [
          "customer_service",
          "installation_scheduling",
          "technical_support",
          "sales_inquiry",
          "complaint_response",
          "follow_up",
          "auto_response",
          "internal_notification"
        ]
      },
      "TemplateChannelType": {
        "type": "string",
        "description": "communication_template.channel_type: a channel type or any.",
        "enum": [
          "email_outlook",
          "whatsapp_business",
          "internal_comment",
          "sms",
          "any"
        ]
      },
      "BusinessEntity": {
        "type": "string",
        "description": "A brand (business_entity of channels, threads and orders).",
        "enum": [
          "chargecars",
          "laderthuis",
          "meterkastthuis",
          "zaptecshop",
          "ratioshop"
        ]
      },
      "TemplateBusinessEntity": {
        "type": "string",
        "description": "communication_template.business_entity: a brand or all.",
        "enum": [
          "chargecars",
          "laderthuis",
          "meterkastthuis",
          "zaptecshop",
          "ratioshop",
          "all"
        ]
      },
      "ContactRole": {
        "type": "string",
        "description": "contact.role",
        "enum": [
          "agent",
          "team_leader",
          "manager",
          "admin",
          "executive"
        ]
      },
      "Presence": {
        "type": "string",
        "description": "contact.presence",
        "enum": [
          "online",
          "away",
          "offline"
        ]
      },
      "OrganizationKind": {
        "type": "string",
        "description": "Organisation kind in the customer directory.",
        "enum": [
          "customer",
          "partner"
        ]
      },
      "TokenKind": {
        "type": "string",
        "description": "Who a token speaks for: a person (with that person's role) or a gateway (may only call POST /api/ingest).",
        "enum": [
          "person",
          "gateway"
        ]
      },
      "ExternalReferenceKind": {
        "type": "string",
        "description": "What an external reference names: a Microsoft Graph conversationId, an RFC 5322 Message-ID, a WhatsApp chat (<business phone number id>:<customer wa_id>) or an SMS chat (<our number>:<customer number>, E.164).",
        "enum": [
          "outlook_conversation_id",
          "email_message_id",
          "whatsapp_chat_id",
          "sms_chat_id"
        ]
      },
      "MatchRule": {
        "type": "string",
        "description": "Which thread-matching rule placed an ingested message.",
        "enum": [
          "external_reference",
          "order_number",
          "customer_open_thread",
          "reopened",
          "new_thread"
        ]
      },
      "IngestStatus": {
        "type": "string",
        "description": "Outcome of one ingested item: created (new message), duplicate (already stored: same channel and external_message_id), updated / unchanged (delivery status moved forward / was repeated or would move back), ignored (a delivery status for a message CommHub does not know on a known channel: no reason for the provider to retry), error (see error). For mailbox items: outgoing_message created (logged) / updated (CommHub's own mail recognised) / duplicate; message_removed updated / ignored (unknown message); calendar_follow_up updated (task made or changed) / unchanged / ignored (a cancellation without a task).",
        "enum": [
          "created",
          "duplicate",
          "updated",
          "unchanged",
          "error",
          "ignored"
        ]
      },
      "CallDirection": {
        "type": "string",
        "description": "Direction of a logged phone call.",
        "enum": [
          "inbound",
          "outbound"
        ]
      },
      "IngestItemType": {
        "type": "string",
        "description": "Kind of an ingest item.",
        "enum": [
          "message",
          "delivery_status",
          "reaction",
          "outgoing_message",
          "message_removed",
          "calendar_follow_up"
        ]
      },
      "ErrorBody": {
        "type": "object",
        "description": "Every 4xx and 5xx answer: {\"error\": {\"code\": \"...\", \"message\": \"...\"}}.",
        "required": [
          "error"
        ],
        "properties": {
          "error": {
            "type": "object",
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string",
                "description": "Stable, machine-readable code, e.g. invalid_request, invalid_json, invalid, not_found, forbidden, unauthorized, conflict, too_large, rate_limited, not_stored, unavailable, missing_variables."
              },
              "message": {
                "type": "string",
                "description": "What went wrong and what to do about it, for a person."
              }
            }
          }
        }
      },
      "ErrorDetail": {
        "type": "object",
        "description": "The inner error object (per-item ingest errors).",
        "required": [
          "code",
          "message"
        ],
        "properties": {
          "code": {
            "type": "string"
          },
          "message": {
            "type": "string"
          }
        }
      },
      "ListPage": {
        "type": "object",
        "description": "One page of a list: {\"items\": [...], \"next_cursor\": \"...\" | null}.",
        "required": [
          "items",
          "next_cursor"
        ],
        "properties": {
          "items": {
            "type": "array",
            "description": "This page's items."
          },
          "next_cursor": {
            "type": [
              "string",
              "null"
            ],
            "description": "Pass as ?cursor= to get the next page; null on the last page."
          }
        }
      },
      "ExternalReference": {
        "type": "object",
        "description": "A reference that ties provider traffic to a thread.",
        "required": [
          "kind",
          "value"
        ],
        "properties": {
          "kind": {
            "$ref": "#/components/schemas/ExternalReferenceKind"
          },
          "value": {
            "type": "string",
            "description": "The reference, e.g. a conversationId or <business phone number id>:<wa_id>."
          }
        }
      },
      "ExternalParty": {
        "type": "object",
        "description": "Someone outside the company (sender_external, recipient_external).",
        "properties": {
          "name": {
            "type": "string"
          },
          "email": {
            "type": "string"
          },
          "phone": {
            "type": "string"
          },
          "wa_id": {
            "type": "string",
            "description": "WhatsApp id (country code and number, no +)."
          }
        }
      },
      "Attachment": {
        "type": "object",
        "description": "Attachment metadata. A file in CommHub's attachment store has sha256 and is served at url (/api/attachments/{sha256}?message_id=…); a file still at the provider has only the provider's reference in url.",
        "required": [
          "file_name",
          "content_type",
          "size_bytes"
        ],
        "properties": {
          "file_name": {
            "type": "string"
          },
          "content_type": {
            "type": "string"
          },
          "size_bytes": {
            "type": "integer"
          },
          "url": {
            "type": "string"
          },
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
          }
        }
      },
      "Thread": {
        "type": "object",
        "description": "communication_thread (the header, as listed in the inbox). Optional fields are left out when unset.",
        "required": [
          "id",
          "thread_subject",
          "thread_type",
          "priority",
          "status",
          "channel_type",
          "created_at",
          "updated_at",
          "tags",
          "external_references",
          "message_count",
          "required_skills"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "thread_subject": {
            "type": "string"
          },
          "thread_type": {
            "$ref": "#/components/schemas/ThreadType"
          },
          "priority": {
            "$ref": "#/components/schemas/Priority"
          },
          "status": {
            "$ref": "#/components/schemas/ThreadStatus"
          },
          "business_entity": {
            "$ref": "#/components/schemas/BusinessEntity"
          },
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType",
            "description": "The channel type of the thread's first message (the inbox's channel filter)."
          },
          "order_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "customer_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "customer_organization_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "partner_organization_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "assigned_team_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "assigned_to_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "created_by_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "created_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "updated_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "last_message_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "response_due_at": {
            "$ref": "#/components/schemas/DateTime",
            "description": "Set while a customer message waits for an answer (the SLA deadline); absent once answered."
          },
          "awaiting_response_since": {
            "$ref": "#/components/schemas/DateTime",
            "description": "When the oldest unanswered customer message arrived."
          },
          "resolved_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "tags": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "external_references": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/ExternalReference"
            }
          },
          "message_count": {
            "type": "integer"
          },
          "required_skills": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Skills whoever handles the thread needs (from routing rules)."
          }
        }
      },
      "ThreadDetail": {
        "description": "A thread with its newest messages (at most 200) and its tasks, oldest first.",
        "allOf": [
          {
            "$ref": "#/components/schemas/Thread"
          },
          {
            "type": "object",
            "required": [
              "messages",
              "messages_truncated",
              "tasks"
            ],
            "properties": {
              "messages": {
                "type": "array",
                "description": "The thread's newest 200 messages at most, oldest first; every message pages through GET /api/communication/messages?thread_id=.",
                "items": {
                  "$ref": "#/components/schemas/Message"
                }
              },
              "messages_truncated": {
                "type": "boolean",
                "description": "True when the thread has older messages than those in messages."
              },
              "tasks": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Task"
                }
              },
              "whatsapp_windows": {
                "type": "array",
                "description": "WhatsApp's 24-hour customer-service window per WhatsApp channel of the thread: free text may be sent until ends_at; outside it only approved templates.",
                "items": {
                  "type": "object",
                  "required": [
                    "channel_id",
                    "ends_at",
                    "open"
                  ],
                  "properties": {
                    "channel_id": {
                      "$ref": "#/components/schemas/Uuid"
                    },
                    "ends_at": {
                      "$ref": "#/components/schemas/DateTime"
                    },
                    "open": {
                      "type": "boolean"
                    }
                  }
                }
              },
              "whatsapp_window_ends_at": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/DateTime"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "The latest end among whatsapp_windows."
              },
              "merged_into_thread_id": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/Uuid"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "The thread this one was merged into (its conversation continues there); null unless merged."
              },
              "split_from_thread_id": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/Uuid"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "The thread this one was split off from; null unless made by a split."
              },
              "csat_score": {
                "type": [
                  "integer",
                  "null"
                ],
                "minimum": 1,
                "maximum": 5,
                "description": "The customer's 1–5 satisfaction answer to the question sent when the thread was resolved (channels with csat_survey); null until answered."
              },
              "csat_scored_at": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/DateTime"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "When the customer answered."
              },
              "csat_agent_contact_id": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/Uuid"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "Who had the thread when it was resolved and the question went out."
              },
              "csat_requested_at": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/DateTime"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "When the satisfaction question was sent."
              }
            }
          }
        ]
      },
      "ThreadCreate": {
        "type": "object",
        "description": "A new thread (an internal case or a conversation started by us).",
        "required": [
          "thread_subject"
        ],
        "properties": {
          "thread_subject": {
            "type": "string",
            "minLength": 1,
            "maxLength": 500,
            "pattern": "\\S",
            "description": "1 to 500 characters, not blank."
          },
          "thread_type": {
            "$ref": "#/components/schemas/ThreadType",
            "description": "Default customer_support."
          },
          "priority": {
            "$ref": "#/components/schemas/Priority",
            "description": "Default normal."
          },
          "status": {
            "$ref": "#/components/schemas/ThreadStatus",
            "description": "Default open."
          },
          "business_entity": {
            "$ref": "#/components/schemas/BusinessEntity"
          },
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType",
            "description": "Default internal_comment."
          },
          "order_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "customer_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "customer_organization_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "partner_organization_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "assigned_to_contact_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "Assign to this person (agents may only name themselves)."
          },
          "team_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "Route to this team; agents and team leaders default to their first team."
          },
          "tags": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "external_references": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/ExternalReference"
            }
          }
        },
        "additionalProperties": false
      },
      "ThreadUpdate": {
        "type": "object",
        "description": "Fields to change; absent fields stay as they are. Unknown fields are refused.",
        "properties": {
          "status": {
            "$ref": "#/components/schemas/ThreadStatus"
          },
          "priority": {
            "$ref": "#/components/schemas/Priority"
          },
          "thread_type": {
            "$ref": "#/components/schemas/ThreadType"
          },
          "thread_subject": {
            "type": "string",
            "minLength": 1,
            "maxLength": 500,
            "pattern": "\\S"
          },
          "tags": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Replaces the tags."
          },
          "order_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "customer_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "customer_organization_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "partner_organization_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "team_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "Move the thread to this team."
          },
          "assigned_to_contact_id": {
            "description": "Assign to this person; null unassigns (the thread goes back to its team's queue).",
            "anyOf": [
              {
                "$ref": "#/components/schemas/Uuid"
              },
              {
                "type": "null"
              }
            ]
          }
        },
        "additionalProperties": false
      },
      "Message": {
        "type": "object",
        "description": "communication_message: header and body. Optional fields are left out when unset.",
        "required": [
          "id",
          "thread_id",
          "channel_type",
          "message_type",
          "delivery_status",
          "created_at"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "thread_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType"
          },
          "message_type": {
            "$ref": "#/components/schemas/MessageType"
          },
          "sender_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "sender_external": {
            "$ref": "#/components/schemas/ExternalParty"
          },
          "recipient_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "recipient_external": {
            "$ref": "#/components/schemas/ExternalParty"
          },
          "subject": {
            "type": "string"
          },
          "external_message_id": {
            "type": "string",
            "description": "The provider's message id."
          },
          "delivery_status": {
            "$ref": "#/components/schemas/DeliveryStatus"
          },
          "read_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "created_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "message_content": {
            "type": "string"
          },
          "message_html": {
            "type": "string"
          },
          "attachments": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Attachment"
            }
          },
          "metadata": {
            "$ref": "#/components/schemas/JSONObject"
          }
        }
      },
      "CallLog": {
        "type": "object",
        "description": "A logged phone call (the message gets channel_type phone_call).",
        "required": [
          "direction",
          "duration_seconds"
        ],
        "properties": {
          "direction": {
            "$ref": "#/components/schemas/CallDirection"
          },
          "duration_seconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": 86400
          },
          "notes": {
            "type": "string",
            "description": "Becomes message_content when that is not given."
          },
          "callback_requested": {
            "type": "boolean",
            "description": "The caller asked to be called back: a callback task is made (task rule callback)."
          },
          "callback_at": {
            "$ref": "#/components/schemas/DateTime",
            "description": "When the callback is wanted: the task's due moment (default: the priority's response target)."
          }
        },
        "additionalProperties": false
      },
      "MessageCreate": {
        "type": "object",
        "description": "A message we send or a note we add.",
        "required": [
          "thread_id",
          "message_type"
        ],
        "properties": {
          "thread_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "message_type": {
            "$ref": "#/components/schemas/MessageType",
            "description": "outgoing (sent on a channel, delivery pending) or internal_note. Incoming messages arrive through POST /api/ingest; calls use call."
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "For outgoing: the channel to send on; default the channel the customer last wrote on."
          },
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType"
          },
          "subject": {
            "type": "string"
          },
          "message_content": {
            "type": "string",
            "description": "Required unless a template or attachments give the content."
          },
          "message_html": {
            "type": "string"
          },
          "attachments": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Attachment"
            }
          },
          "recipient_external": {
            "$ref": "#/components/schemas/ExternalParty"
          },
          "recipient_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "metadata": {
            "$ref": "#/components/schemas/JSONObject"
          },
          "template_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "Render this active template (its usage_count goes up once the message is stored)."
          },
          "template_variables": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            },
            "description": "Values for the template's {{variables}}; thread_subject, agent_name, customer_name and order_number are filled in when absent."
          },
          "thread_status": {
            "$ref": "#/components/schemas/ThreadStatus",
            "description": "Status to give the thread with this message, e.g. waiting_customer."
          },
          "call": {
            "$ref": "#/components/schemas/CallLog"
          },
          "reply_to_message_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "A message of this thread the answer replies to (WhatsApp quotes it)."
          }
        },
        "additionalProperties": false
      },
      "MessageUpdate": {
        "type": "object",
        "description": "Set a message's delivery status (what a sender reports).",
        "properties": {
          "delivery_status": {
            "$ref": "#/components/schemas/DeliveryStatus"
          }
        },
        "additionalProperties": false
      },
      "Task": {
        "type": "object",
        "description": "internal_task. Optional fields are left out when unset.",
        "required": [
          "id",
          "task_title",
          "task_type",
          "priority",
          "status",
          "created_at"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "task_title": {
            "type": "string"
          },
          "task_description": {
            "type": "string"
          },
          "task_type": {
            "$ref": "#/components/schemas/TaskType"
          },
          "priority": {
            "$ref": "#/components/schemas/Priority"
          },
          "status": {
            "$ref": "#/components/schemas/TaskStatus"
          },
          "assigned_to_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "created_by_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "thread_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "order_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "due_date": {
            "type": "string",
            "description": "YYYY-MM-DD"
          },
          "due_time": {
            "type": "string",
            "description": "HH:MM"
          },
          "completed_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "completion_notes": {
            "type": "string"
          },
          "reminder_settings": {
            "$ref": "#/components/schemas/JSONObject",
            "description": "Free-form; the engine reads minutes_before (minutes, or a list of up to 5, 1–43200) and overdue (boolean, default true): task.reminder events."
          },
          "created_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "overdue": {
            "type": "boolean",
            "description": "Pending (open, in_progress, waiting) and past its due moment (due_date, due_time in Europe/Amsterdam; without a time: the end of the day)."
          }
        }
      },
      "TaskCreate": {
        "type": "object",
        "description": "A new task.",
        "required": [
          "task_title"
        ],
        "properties": {
          "task_title": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank."
          },
          "task_description": {
            "type": "string"
          },
          "task_type": {
            "$ref": "#/components/schemas/TaskType",
            "description": "Default other."
          },
          "priority": {
            "$ref": "#/components/schemas/Priority",
            "description": "Default normal."
          },
          "status": {
            "$ref": "#/components/schemas/TaskStatus",
            "description": "Default open; completed sets completed_at."
          },
          "assigned_to_contact_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "Default the caller."
          },
          "thread_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "order_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "due_date": {
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "YYYY-MM-DD, a real calendar date after 1900."
          },
          "due_time": {
            "type": "string",
            "pattern": "^[0-9]{2}:[0-9]{2}$",
            "description": "HH:MM, 00:00 to 23:59."
          },
          "completion_notes": {
            "type": "string"
          },
          "reminder_settings": {
            "$ref": "#/components/schemas/JSONObject"
          }
        },
        "additionalProperties": false
      },
      "TaskUpdate": {
        "type": "object",
        "description": "Fields of a task to change; absent fields stay as they are.",
        "properties": {
          "task_title": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank."
          },
          "task_description": {
            "type": "string"
          },
          "task_type": {
            "$ref": "#/components/schemas/TaskType",
            "description": "Default other."
          },
          "priority": {
            "$ref": "#/components/schemas/Priority",
            "description": "Default normal."
          },
          "status": {
            "$ref": "#/components/schemas/TaskStatus",
            "description": "Default open; completed sets completed_at."
          },
          "assigned_to_contact_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "Default the caller."
          },
          "thread_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "order_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "due_date": {
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "YYYY-MM-DD, a real calendar date after 1900."
          },
          "due_time": {
            "type": "string",
            "pattern": "^[0-9]{2}:[0-9]{2}$",
            "description": "HH:MM, 00:00 to 23:59."
          },
          "completion_notes": {
            "type": "string"
          },
          "reminder_settings": {
            "$ref": "#/components/schemas/JSONObject"
          }
        },
        "additionalProperties": false
      },
      "Template": {
        "type": "object",
        "description": "communication_template",
        "required": [
          "id",
          "template_name",
          "template_category",
          "channel_type",
          "message_template",
          "variables",
          "business_entity",
          "is_active",
          "usage_count"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "template_name": {
            "type": "string"
          },
          "template_category": {
            "$ref": "#/components/schemas/TemplateCategory"
          },
          "channel_type": {
            "$ref": "#/components/schemas/TemplateChannelType"
          },
          "subject_template": {
            "type": "string"
          },
          "message_template": {
            "type": "string"
          },
          "html_template": {
            "type": "string"
          },
          "variables": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "The {{variables}} the template uses."
          },
          "business_entity": {
            "$ref": "#/components/schemas/TemplateBusinessEntity"
          },
          "is_active": {
            "type": "boolean"
          },
          "usage_count": {
            "type": "integer"
          },
          "whatsapp_template_name": {
            "type": "string",
            "description": "The template's name as approved at Meta: sent through WhatsApp as that template (allowed outside the 24-hour window), with variables as body parameters in order."
          },
          "whatsapp_language": {
            "type": "string",
            "description": "The approved translation's language code (nl, en_US)."
          }
        }
      },
      "TemplateCreate": {
        "type": "object",
        "description": "A new template.",
        "required": [
          "template_name",
          "template_category",
          "channel_type",
          "message_template"
        ],
        "properties": {
          "template_name": {
            "type": "string",
            "minLength": 1
          },
          "template_category": {
            "$ref": "#/components/schemas/TemplateCategory"
          },
          "channel_type": {
            "$ref": "#/components/schemas/TemplateChannelType"
          },
          "subject_template": {
            "type": "string"
          },
          "message_template": {
            "type": "string",
            "minLength": 1
          },
          "html_template": {
            "type": "string"
          },
          "variables": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Default: the {{variables}} found in the templates."
          },
          "business_entity": {
            "$ref": "#/components/schemas/TemplateBusinessEntity",
            "description": "Default all."
          },
          "is_active": {
            "type": "boolean",
            "description": "Default true."
          },
          "whatsapp_template_name": {
            "type": "string",
            "description": "The template's name as approved at Meta: sent through WhatsApp as that template (allowed outside the 24-hour window), with variables as body parameters in order."
          },
          "whatsapp_language": {
            "type": "string",
            "description": "The approved translation's language code (nl, en_US)."
          }
        },
        "additionalProperties": false
      },
      "TemplateUpdate": {
        "type": "object",
        "description": "Fields of a template to change.",
        "properties": {
          "template_name": {
            "type": "string",
            "minLength": 1
          },
          "template_category": {
            "$ref": "#/components/schemas/TemplateCategory"
          },
          "channel_type": {
            "$ref": "#/components/schemas/TemplateChannelType"
          },
          "subject_template": {
            "type": "string"
          },
          "message_template": {
            "type": "string",
            "minLength": 1
          },
          "html_template": {
            "type": "string"
          },
          "variables": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Default: the {{variables}} found in the templates."
          },
          "business_entity": {
            "$ref": "#/components/schemas/TemplateBusinessEntity",
            "description": "Default all."
          },
          "is_active": {
            "type": "boolean",
            "description": "Default true."
          },
          "whatsapp_template_name": {
            "type": "string",
            "description": "The template's name as approved at Meta: sent through WhatsApp as that template (allowed outside the 24-hour window), with variables as body parameters in order."
          },
          "whatsapp_language": {
            "type": "string",
            "description": "The approved translation's language code (nl, en_US)."
          }
        },
        "additionalProperties": false
      },
      "RenderRequest": {
        "type": "object",
        "properties": {
          "variables": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            }
          },
          "thread_id": {
            "$ref": "#/components/schemas/Uuid"
          }
        },
        "additionalProperties": false,
        "description": "Give variables, thread_id (the values of that thread: customer, order, agent, brand, channel), or both (variables win)."
      },
      "RenderResult": {
        "type": "object",
        "required": [
          "subject",
          "message",
          "html",
          "missing_variables"
        ],
        "properties": {
          "subject": {
            "type": [
              "string",
              "null"
            ]
          },
          "message": {
            "type": "string"
          },
          "html": {
            "type": [
              "string",
              "null"
            ]
          },
          "missing_variables": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Variables the template uses that were not given (left as {{name}} in the text)."
          }
        }
      },
      "KeywordRule": {
        "type": "object",
        "description": "When the first message mentions a keyword: set type and/or priority, route to a team.",
        "required": [
          "keywords"
        ],
        "properties": {
          "keywords": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "minItems": 1,
            "description": "Matched case-insensitively in subject and body of the first message."
          },
          "thread_type": {
            "$ref": "#/components/schemas/ThreadType"
          },
          "priority": {
            "$ref": "#/components/schemas/Priority"
          },
          "assign_to": {
            "type": "string",
            "description": "A team, by name or id."
          },
          "required_skills": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        }
      },
      "TypeRoute": {
        "type": "object",
        "description": "Routing for one thread type.",
        "properties": {
          "default_assignee": {
            "type": "string",
            "description": "A team, by name or id."
          },
          "required_skills": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "priority": {
            "$ref": "#/components/schemas/Priority"
          },
          "escalation_after_hours": {
            "type": "number",
            "description": "Hours before this type's threads escalate (beats the rules' own)."
          },
          "escalation_to": {
            "type": "string",
            "description": "A team, or a person by role, to escalate to."
          }
        },
        "additionalProperties": false
      },
      "AutoAssignmentRules": {
        "type": "object",
        "description": "auto_assignment_rules of a channel, or the engine's global routing rules. Per-thread-type routes may be given with thread types as top-level keys (the owner's shape: {\"customer_support\": {\"default_assignee\": \"customer_service_team\", \"escalation_after_hours\": 4, \"escalation_to\": \"support_manager\"}}) or under by_thread_type; both are read alike and returned as by_thread_type. Any other key is refused (422) naming it.",
        "properties": {
          "default_assignee": {
            "type": "string",
            "description": "A team, by name or id."
          },
          "skill_matching": {
            "type": "boolean"
          },
          "required_skills": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "escalation_after_hours": {
            "type": "number"
          },
          "escalation_to": {
            "type": "string",
            "description": "A team, by name or id."
          },
          "keyword_rules": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/KeywordRule"
            }
          },
          "by_thread_type": {
            "type": "object",
            "description": "Keys are thread types.",
            "propertyNames": {
              "$ref": "#/components/schemas/ThreadType"
            },
            "additionalProperties": {
              "$ref": "#/components/schemas/TypeRoute"
            }
          },
          "customer_support": {
            "$ref": "#/components/schemas/TypeRoute"
          },
          "partner_inquiry": {
            "$ref": "#/components/schemas/TypeRoute"
          },
          "installation_coordination": {
            "$ref": "#/components/schemas/TypeRoute"
          },
          "technical_issue": {
            "$ref": "#/components/schemas/TypeRoute"
          },
          "sales_inquiry": {
            "$ref": "#/components/schemas/TypeRoute"
          },
          "complaint": {
            "$ref": "#/components/schemas/TypeRoute"
          },
          "internal_task": {
            "$ref": "#/components/schemas/TypeRoute"
          },
          "project_discussion": {
            "$ref": "#/components/schemas/TypeRoute"
          }
        },
        "additionalProperties": false
      },
      "Channel": {
        "type": "object",
        "description": "communication_channel, without its secrets.",
        "required": [
          "id",
          "channel_type",
          "channel_name",
          "is_active",
          "configuration",
          "secrets_set"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType"
          },
          "channel_name": {
            "type": "string"
          },
          "is_active": {
            "type": "boolean"
          },
          "business_entity": {
            "$ref": "#/components/schemas/BusinessEntity"
          },
          "configuration": {
            "$ref": "#/components/schemas/JSONObject",
            "description": "Non-secret settings (see API.md, channel configuration keys)."
          },
          "auto_assignment_rules": {
            "$ref": "#/components/schemas/AutoAssignmentRules"
          },
          "response_sla_hours": {
            "type": "number"
          },
          "escalation_rules": {
            "$ref": "#/components/schemas/JSONObject"
          },
          "secrets_set": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Names of the secrets that are set. Secrets are write-only: their values are never returned."
          }
        }
      },
      "ChannelCreate": {
        "type": "object",
        "description": "A new channel.",
        "required": [
          "channel_type",
          "channel_name"
        ],
        "properties": {
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType",
            "description": "Required when creating; cannot change."
          },
          "channel_name": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank."
          },
          "is_active": {
            "type": "boolean",
            "description": "Default true."
          },
          "business_entity": {
            "$ref": "#/components/schemas/BusinessEntity"
          },
          "configuration": {
            "$ref": "#/components/schemas/JSONObject",
            "description": "Settings; secret keys (client_secret, access_token, app_secret, verify_token, auth_token, ...) are sealed and never returned; a secret set to null is removed. Provider base URLs (graph_base_url, login_base_url, ...) must be http(s) URLs."
          },
          "auto_assignment_rules": {
            "$ref": "#/components/schemas/AutoAssignmentRules"
          },
          "response_sla_hours": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 720
          },
          "escalation_rules": {
            "$ref": "#/components/schemas/JSONObject"
          }
        },
        "additionalProperties": false
      },
      "ChannelUpdate": {
        "type": "object",
        "description": "Fields of a channel to change (channel_type cannot change).",
        "properties": {
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType",
            "description": "Required when creating; cannot change."
          },
          "channel_name": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank."
          },
          "is_active": {
            "type": "boolean",
            "description": "Default true."
          },
          "business_entity": {
            "$ref": "#/components/schemas/BusinessEntity"
          },
          "configuration": {
            "$ref": "#/components/schemas/JSONObject",
            "description": "Settings; secret keys (client_secret, access_token, app_secret, verify_token, auth_token, ...) are sealed and never returned; a secret set to null is removed. Provider base URLs (graph_base_url, login_base_url, ...) must be http(s) URLs."
          },
          "auto_assignment_rules": {
            "$ref": "#/components/schemas/AutoAssignmentRules"
          },
          "response_sla_hours": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 720
          },
          "escalation_rules": {
            "$ref": "#/components/schemas/JSONObject"
          }
        },
        "additionalProperties": false
      },
      "Contact": {
        "type": "object",
        "description": "contact: an internal person (agent, team leader, manager, admin, executive).",
        "required": [
          "id",
          "name",
          "role",
          "teams",
          "skills",
          "max_open_threads",
          "presence"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "name": {
            "type": "string"
          },
          "email": {
            "type": "string"
          },
          "phone": {
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/ContactRole"
          },
          "teams": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          "skills": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "max_open_threads": {
            "type": "integer"
          },
          "presence": {
            "$ref": "#/components/schemas/Presence"
          },
          "daily_digest_hour": {
            "type": "integer",
            "minimum": 0,
            "maximum": 23,
            "description": "Local hour (Europe/Amsterdam) of the person's daily e-mail digest; left out: none."
          }
        }
      },
      "ContactCreate": {
        "type": "object",
        "description": "A new contact.",
        "required": [
          "name"
        ],
        "properties": {
          "name": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank."
          },
          "email": {
            "type": "string",
            "format": "email",
            "description": "An e-mail address (empty clears it)."
          },
          "phone": {
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/ContactRole",
            "description": "Default agent."
          },
          "teams": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          "skills": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "max_open_threads": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10000,
            "description": "Default 25."
          },
          "presence": {
            "$ref": "#/components/schemas/Presence",
            "description": "Default offline. Anyone may change their own presence alone."
          },
          "daily_digest_hour": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": 0,
            "maximum": 23,
            "description": "Local hour (Europe/Amsterdam) of the person's daily e-mail digest; null: none."
          }
        },
        "additionalProperties": false
      },
      "ContactUpdate": {
        "type": "object",
        "description": "Fields of a contact to change.",
        "properties": {
          "name": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank."
          },
          "email": {
            "type": "string",
            "format": "email",
            "description": "An e-mail address (empty clears it)."
          },
          "phone": {
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/ContactRole",
            "description": "Default agent."
          },
          "teams": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Uuid"
            }
          },
          "skills": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "max_open_threads": {
            "type": "integer",
            "minimum": 0,
            "maximum": 10000,
            "description": "Default 25."
          },
          "presence": {
            "$ref": "#/components/schemas/Presence",
            "description": "Default offline. Anyone may change their own presence alone."
          },
          "daily_digest_hour": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": 0,
            "maximum": 23,
            "description": "Local hour (Europe/Amsterdam) of the person's daily e-mail digest; null: none."
          }
        },
        "additionalProperties": false
      },
      "Team": {
        "type": "object",
        "description": "A team of internal people.",
        "required": [
          "id",
          "name",
          "hand_over_on_offline"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "name": {
            "type": "string"
          },
          "hand_over_on_offline": {
            "type": "boolean",
            "description": "When a member goes offline: hand their open threads to colleagues (true) or keep them (false)."
          },
          "leader_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "business_hours": {
            "description": "Business hours: \"08:00-17:00\", \"08:00-12:00, 13:00-17:00\" (Monday–Friday), or an object with time_zone, weekdays, monday…sunday, holidays (nl or none), good_friday, liberation_day, closed_dates.",
            "oneOf": [
              {
                "type": "string"
              },
              {
                "type": "object"
              }
            ]
          }
        }
      },
      "TeamWithLoad": {
        "description": "A team as listed: with its members and queue depth.",
        "allOf": [
          {
            "$ref": "#/components/schemas/Team"
          },
          {
            "type": "object",
            "required": [
              "members",
              "queue_depth"
            ],
            "properties": {
              "members": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Uuid"
                }
              },
              "queue_depth": {
                "type": "integer"
              }
            }
          }
        ]
      },
      "TeamCreate": {
        "type": "object",
        "description": "A new team.",
        "required": [
          "name"
        ],
        "properties": {
          "name": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank; unique ignoring case."
          },
          "hand_over_on_offline": {
            "type": "boolean",
            "description": "Default true."
          },
          "leader_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "business_hours": {
            "description": "Business hours: \"08:00-17:00\", \"08:00-12:00, 13:00-17:00\" (Monday–Friday), or an object with time_zone, weekdays, monday…sunday, holidays (nl or none), good_friday, liberation_day, closed_dates.",
            "oneOf": [
              {
                "type": "string"
              },
              {
                "type": "object"
              },
              {
                "type": "null"
              }
            ]
          }
        },
        "additionalProperties": false
      },
      "TeamUpdate": {
        "type": "object",
        "description": "Fields of a team to change.",
        "properties": {
          "name": {
            "type": "string",
            "pattern": "\\S",
            "description": "Not blank; unique ignoring case."
          },
          "hand_over_on_offline": {
            "type": "boolean",
            "description": "Default true."
          },
          "leader_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "business_hours": {
            "description": "Business hours: \"08:00-17:00\", \"08:00-12:00, 13:00-17:00\" (Monday–Friday), or an object with time_zone, weekdays, monday…sunday, holidays (nl or none), good_friday, liberation_day, closed_dates.",
            "oneOf": [
              {
                "type": "string"
              },
              {
                "type": "object"
              },
              {
                "type": "null"
              }
            ]
          }
        },
        "additionalProperties": false
      },
      "Token": {
        "type": "object",
        "description": "An API token (its secret is never shown again).",
        "required": [
          "id",
          "kind",
          "label",
          "created_at"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "kind": {
            "$ref": "#/components/schemas/TokenKind"
          },
          "contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "label": {
            "type": "string"
          },
          "created_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "revoked_at": {
            "$ref": "#/components/schemas/DateTime"
          }
        }
      },
      "IssuedToken": {
        "description": "A new token with its secret, shown this once.",
        "allOf": [
          {
            "$ref": "#/components/schemas/Token"
          },
          {
            "type": "object",
            "required": [
              "token"
            ],
            "properties": {
              "token": {
                "type": "string",
                "description": "The bearer secret."
              }
            }
          }
        ]
      },
      "TokenInput": {
        "type": "object",
        "properties": {
          "label": {
            "type": "string"
          }
        },
        "additionalProperties": false
      },
      "Organization": {
        "type": "object",
        "description": "A customer or partner organisation.",
        "required": [
          "id",
          "name",
          "kind"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "name": {
            "type": "string"
          },
          "kind": {
            "$ref": "#/components/schemas/OrganizationKind"
          }
        }
      },
      "Customer": {
        "type": "object",
        "description": "A customer person in the directory.",
        "required": [
          "id",
          "name",
          "emails",
          "phones"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "name": {
            "type": "string"
          },
          "emails": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "E-mail addresses (normalised to lower case)."
          },
          "phones": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Phone numbers (normalised to E.164; Dutch national numbers get +31)."
          },
          "organization_id": {
            "$ref": "#/components/schemas/Uuid"
          }
        }
      },
      "CustomerInput": {
        "type": "object",
        "description": "A directory customer; emails and phones may be left out.",
        "required": [
          "id",
          "name"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "name": {
            "type": "string",
            "minLength": 1
          },
          "emails": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "phones": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "organization_id": {
            "$ref": "#/components/schemas/Uuid"
          }
        }
      },
      "Order": {
        "type": "object",
        "description": "An order, found by its number in subjects and bodies.",
        "required": [
          "id",
          "order_number",
          "brand"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "order_number": {
            "type": "string"
          },
          "customer_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "organization_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "brand": {
            "$ref": "#/components/schemas/BusinessEntity"
          },
          "lines": {
            "type": "array",
            "maxItems": 200,
            "description": "What was ordered, for templates ({{#order.lines}}{{description}}{{/order.lines}}).",
            "items": {
              "type": "object",
              "required": [
                "description"
              ],
              "additionalProperties": false,
              "properties": {
                "description": {
                  "type": "string"
                },
                "quantity": {
                  "type": "integer",
                  "minimum": 0,
                  "maximum": 1000000
                },
                "price": {
                  "type": "string",
                  "description": "As the shop shows it (\"€ 1.249,00\")."
                }
              }
            }
          }
        }
      },
      "DirectoryUpsert": {
        "type": "object",
        "description": "Bulk upsert by id: organisations first, then customers, then orders; 1 to 10000 records in all. A bad record changes nothing.",
        "properties": {
          "organizations": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Organization"
            }
          },
          "customers": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/CustomerInput"
            }
          },
          "orders": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Order"
            }
          }
        },
        "additionalProperties": false
      },
      "DirectoryResult": {
        "type": "object",
        "required": [
          "upserted"
        ],
        "properties": {
          "upserted": {
            "type": "integer"
          }
        }
      },
      "AuditEntry": {
        "type": "object",
        "description": "One recorded change: who changed what, when, from what to what.",
        "required": [
          "at",
          "action",
          "entity",
          "entity_id"
        ],
        "properties": {
          "at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "actor_contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "actor_token_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "action": {
            "type": "string",
            "description": "e.g. thread.update, channel.create, token.revoke."
          },
          "entity": {
            "type": "string",
            "description": "e.g. thread, channel, contact."
          },
          "entity_id": {
            "type": "string"
          },
          "before": {
            "description": "The entity before the change (any JSON)."
          },
          "after": {
            "description": "The entity after the change (any JSON)."
          },
          "request_id": {
            "type": "string"
          },
          "via": {
            "type": "string",
            "description": "Who acted when no token did: admin_socket, retention."
          },
          "content_erased": {
            "type": "boolean",
            "description": "Present (true) when before/after were about a person or thread since erased or expired: their content is destroyed, the entry's header stays."
          }
        }
      },
      "IngestMessage": {
        "type": "object",
        "description": "A normalised inbound message.",
        "required": [
          "type",
          "channel_id",
          "external_message_id",
          "sender_external",
          "message_content",
          "received_at"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "message"
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "external_message_id": {
            "type": "string",
            "description": "The provider's message id; with channel_id the idempotency key."
          },
          "thread_reference": {
            "$ref": "#/components/schemas/ExternalReference"
          },
          "in_reply_to": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "E-mail Message-IDs this message answers (In-Reply-To, References)."
          },
          "internet_message_id": {
            "type": "string",
            "description": "This e-mail's own RFC 5322 Message-ID."
          },
          "sender_external": {
            "$ref": "#/components/schemas/ExternalParty"
          },
          "subject": {
            "type": "string"
          },
          "message_content": {
            "type": "string"
          },
          "message_html": {
            "type": "string"
          },
          "attachments": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Attachment"
            }
          },
          "received_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "metadata": {
            "type": "object",
            "description": "What the provider says beyond the text: reply_to_external_id (the message it answers), payload (a button's), interactive {type, id, title, description}, unsupported."
          },
          "auto_submitted": {
            "type": "boolean",
            "description": "A machine wrote it (mail Auto-Submitted other than no, X-Autoreply, Precedence auto_reply/bulk, an out-of-office reply): recorded as auto_response, starts no response clock and is never answered automatically. Out-of-office subjects are recognised without it."
          }
        },
        "additionalProperties": false
      },
      "IngestDeliveryStatus": {
        "type": "object",
        "description": "A provider's delivery report for a message we sent; it only moves a message forward. A failed or bounced report with error_code/error_title keeps them on the message and puts a notice in the thread.",
        "required": [
          "type",
          "channel_id",
          "external_message_id",
          "delivery_status"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "delivery_status"
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "external_message_id": {
            "type": "string"
          },
          "delivery_status": {
            "$ref": "#/components/schemas/DeliveryStatus"
          },
          "at": {
            "$ref": "#/components/schemas/DateTime",
            "description": "Default: now."
          },
          "error_code": {
            "type": "string",
            "description": "The provider's code for a failed delivery (WhatsApp errors[0].code, Twilio ErrorCode)."
          },
          "error_title": {
            "type": "string",
            "description": "The provider's title for it."
          }
        },
        "additionalProperties": false
      },
      "IngestItem": {
        "description": "One item of an ingest batch.",
        "oneOf": [
          {
            "$ref": "#/components/schemas/IngestMessage"
          },
          {
            "$ref": "#/components/schemas/IngestDeliveryStatus"
          },
          {
            "$ref": "#/components/schemas/IngestReaction"
          },
          {
            "$ref": "#/components/schemas/IngestOutgoingMessage"
          },
          {
            "$ref": "#/components/schemas/IngestMessageRemoved"
          },
          {
            "$ref": "#/components/schemas/IngestCalendarFollowUp"
          }
        ],
        "discriminator": {
          "propertyName": "type",
          "mapping": {
            "message": "#/components/schemas/IngestMessage",
            "delivery_status": "#/components/schemas/IngestDeliveryStatus",
            "reaction": "#/components/schemas/IngestReaction",
            "outgoing_message": "#/components/schemas/IngestOutgoingMessage",
            "message_removed": "#/components/schemas/IngestMessageRemoved",
            "calendar_follow_up": "#/components/schemas/IngestCalendarFollowUp"
          }
        }
      },
      "IngestBatch": {
        "type": "object",
        "required": [
          "events"
        ],
        "properties": {
          "events": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/IngestItem"
            },
            "minItems": 1,
            "maxItems": 1000
          }
        },
        "additionalProperties": false
      },
      "IngestResult": {
        "type": "object",
        "description": "The answer for one item, in the order of the batch.",
        "required": [
          "status"
        ],
        "properties": {
          "status": {
            "$ref": "#/components/schemas/IngestStatus"
          },
          "thread_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "message_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "seq": {
            "type": "integer",
            "description": "Journal sequence number of the change."
          },
          "rule": {
            "$ref": "#/components/schemas/MatchRule"
          },
          "error": {
            "$ref": "#/components/schemas/ErrorDetail"
          }
        }
      },
      "IngestResults": {
        "type": "object",
        "required": [
          "results"
        ],
        "properties": {
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/IngestResult"
            }
          }
        }
      },
      "IngestFailure": {
        "description": "Every item failed: the first item's error plus the per-item results.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ErrorBody"
          },
          {
            "$ref": "#/components/schemas/IngestResults"
          }
        ]
      },
      "WhatsAppWebhookResult": {
        "type": "object",
        "required": [
          "results",
          "ignored"
        ],
        "properties": {
          "results": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/IngestResult"
            }
          },
          "ignored": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "Parts of the notification CommHub does not handle (e.g. unsupported message types)."
          }
        }
      },
      "TeamLoad": {
        "type": "object",
        "required": [
          "team_id",
          "team",
          "queue_depth",
          "members_online",
          "open_threads_assigned",
          "capacity_free"
        ],
        "properties": {
          "team_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "team": {
            "type": "string"
          },
          "queue_depth": {
            "type": "integer"
          },
          "members_online": {
            "type": "integer"
          },
          "open_threads_assigned": {
            "type": "integer"
          },
          "capacity_free": {
            "type": "integer"
          }
        }
      },
      "PersonLoad": {
        "type": "object",
        "required": [
          "contact_id",
          "name",
          "presence",
          "open_threads",
          "max_open_threads"
        ],
        "properties": {
          "contact_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "name": {
            "type": "string"
          },
          "presence": {
            "$ref": "#/components/schemas/Presence"
          },
          "open_threads": {
            "type": "integer"
          },
          "max_open_threads": {
            "type": "integer"
          }
        }
      },
      "AnalyticsOverview": {
        "type": "object",
        "description": "Live KPIs: threads by status; open threads by priority, channel type, brand and type; overdue and unassigned open threads; queue depths and each person's load.",
        "required": [
          "generated_at",
          "threads_total",
          "threads_by_status",
          "open_by_priority",
          "open_by_channel_type",
          "open_by_business_entity",
          "open_by_thread_type",
          "open_overdue",
          "open_unassigned",
          "teams",
          "people"
        ],
        "properties": {
          "generated_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "threads_total": {
            "type": "integer"
          },
          "threads_by_status": {
            "type": "object",
            "description": "Count per ThreadStatus value (every value present).",
            "propertyNames": {
              "$ref": "#/components/schemas/ThreadStatus"
            },
            "additionalProperties": {
              "type": "integer"
            }
          },
          "open_by_priority": {
            "type": "object",
            "description": "Count per Priority value (every value present).",
            "propertyNames": {
              "$ref": "#/components/schemas/Priority"
            },
            "additionalProperties": {
              "type": "integer"
            }
          },
          "open_by_channel_type": {
            "type": "object",
            "description": "Count per ChannelType value (every value present).",
            "propertyNames": {
              "$ref": "#/components/schemas/ChannelType"
            },
            "additionalProperties": {
              "type": "integer"
            }
          },
          "open_by_business_entity": {
            "type": "object",
            "description": "Count per BusinessEntity value (every value present).",
            "propertyNames": {
              "$ref": "#/components/schemas/BusinessEntity"
            },
            "additionalProperties": {
              "type": "integer"
            }
          },
          "open_by_thread_type": {
            "type": "object",
            "description": "Count per ThreadType value (every value present).",
            "propertyNames": {
              "$ref": "#/components/schemas/ThreadType"
            },
            "additionalProperties": {
              "type": "integer"
            }
          },
          "open_overdue": {
            "type": "integer"
          },
          "open_unassigned": {
            "type": "integer"
          },
          "teams": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/TeamLoad"
            }
          },
          "people": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/PersonLoad"
            }
          }
        }
      },
      "Health": {
        "type": "object",
        "required": [
          "status",
          "last_seq",
          "threads"
        ],
        "properties": {
          "status": {
            "type": "string",
            "enum": [
              "ok",
              "degraded",
              "failed"
            ],
            "description": "ok while the journal takes writes; degraded while a failed commit is retried (writes are refused, the server answers 503); failed when the journal stopped (restart)."
          },
          "last_seq": {
            "type": "integer",
            "description": "Last journal sequence number handed out."
          },
          "threads": {
            "type": "integer"
          },
          "restore": {
            "type": "object",
            "description": "What the restore at start did.",
            "required": [
              "snapshot_id",
              "replayed_events",
              "void_records",
              "milliseconds"
            ],
            "properties": {
              "snapshot_id": {
                "type": [
                  "integer",
                  "null"
                ]
              },
              "replayed_events": {
                "type": "integer"
              },
              "milliseconds": {
                "type": "integer"
              },
              "void_records": {
                "type": "integer",
                "description": "Void records passed over (seqs left by a journal repair)."
              }
            }
          },
          "journal": {
            "type": "object",
            "description": "The journal's health.",
            "required": [
              "state"
            ],
            "properties": {
              "state": {
                "type": "string",
                "enum": [
                  "ok",
                  "degraded",
                  "stopped"
                ]
              },
              "durable_seq": {
                "type": "integer"
              },
              "since": {
                "type": "string",
                "format": "date-time"
              },
              "error": {
                "type": "string"
              },
              "message": {
                "type": "string"
              }
            }
          },
          "gateway": {
            "type": "object",
            "description": "The gateway serve runs inside itself (absent with --no-gateway).",
            "required": [
              "embedded",
              "connected"
            ],
            "properties": {
              "embedded": {
                "type": "boolean"
              },
              "connected": {
                "type": "boolean"
              }
            }
          }
        }
      },
      "ThreadPage": {
        "description": "A page of Thread items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Thread"
                }
              }
            }
          }
        ]
      },
      "MessagePage": {
        "description": "A page of Message items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Message"
                }
              }
            }
          }
        ]
      },
      "TaskPage": {
        "description": "A page of Task items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Task"
                }
              }
            }
          }
        ]
      },
      "TemplatePage": {
        "description": "A page of Template items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Template"
                }
              }
            }
          }
        ]
      },
      "ChannelPage": {
        "description": "A page of Channel items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Channel"
                }
              }
            }
          }
        ]
      },
      "ContactPage": {
        "description": "A page of Contact items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Contact"
                }
              }
            }
          }
        ]
      },
      "TeamPage": {
        "description": "A page of Team items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/TeamWithLoad"
                }
              }
            }
          }
        ]
      },
      "TokenPage": {
        "description": "A page of Token items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Token"
                }
              }
            }
          }
        ]
      },
      "CustomerPage": {
        "description": "A page of Customer items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Customer"
                }
              }
            }
          }
        ]
      },
      "AuditPage": {
        "description": "A page of AuditEntry items.",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/AuditEntry"
                }
              }
            }
          }
        ]
      },
      "IngestReaction": {
        "type": "object",
        "description": "A customer's reaction to a message: it attaches to that message (metadata.reactions) and does not become a message itself.",
        "required": [
          "type",
          "channel_id",
          "external_message_id",
          "from"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "reaction"
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "external_message_id": {
            "type": "string",
            "description": "The provider id of the message reacted to."
          },
          "from": {
            "type": "string",
            "description": "Who reacted (WhatsApp wa_id)."
          },
          "emoji": {
            "type": [
              "string",
              "null"
            ],
            "description": "Empty or null removes their reaction."
          },
          "at": {
            "$ref": "#/components/schemas/DateTime"
          }
        },
        "additionalProperties": false
      },
      "StoredFile": {
        "type": "object",
        "required": [
          "sha256",
          "size_bytes",
          "content_type",
          "file_name"
        ],
        "properties": {
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
          },
          "size_bytes": {
            "type": "integer"
          },
          "content_type": {
            "type": "string"
          },
          "file_name": {
            "type": "string"
          }
        }
      },
      "KPIAnswer": {
        "type": "object",
        "required": [
          "kpi",
          "from",
          "to",
          "bucket",
          "series",
          "total"
        ],
        "properties": {
          "kpi": {
            "type": "string",
            "enum": [
              "response_times",
              "resolution_times",
              "sla_compliance",
              "volume",
              "channel_preference",
              "workload",
              "escalation_rate",
              "reassignment_rate",
              "first_contact_resolution",
              "template_usage",
              "task_completion",
              "csat",
              "cost"
            ]
          },
          "from": {
            "type": "string",
            "format": "date-time"
          },
          "to": {
            "type": "string",
            "format": "date-time"
          },
          "bucket": {
            "type": "string",
            "enum": [
              "hour",
              "day"
            ]
          },
          "group_by": {
            "type": [
              "string",
              "null"
            ]
          },
          "series": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "bucket_start",
                "group",
                "values"
              ],
              "properties": {
                "bucket_start": {
                  "type": "string",
                  "format": "date-time"
                },
                "group": {
                  "type": "string"
                },
                "values": {
                  "type": "object",
                  "additionalProperties": {
                    "type": [
                      "number",
                      "null"
                    ]
                  }
                }
              }
            }
          },
          "total": {
            "type": "object",
            "additionalProperties": {
              "type": [
                "number",
                "null"
              ]
            }
          },
          "target": {
            "type": "object",
            "properties": {
              "figure": {
                "type": "string"
              },
              "value": {
                "type": "number"
              },
              "direction": {
                "type": "string",
                "enum": [
                  "at_least",
                  "at_most"
                ]
              }
            }
          },
          "prices_cents_per_message": {
            "type": "object",
            "additionalProperties": {
              "type": "number"
            }
          },
          "customers_by_preferred_channel": {
            "type": "object",
            "additionalProperties": {
              "type": "number"
            }
          }
        }
      },
      "WorkflowSettings": {
        "type": "object",
        "description": "Engine-wide workflow configuration. Every key is optional (PUT replaces the whole settings; a key left out takes its default); unknown keys are refused.",
        "properties": {
          "business_hours": {
            "description": "Business hours: \"08:00-17:00\", \"08:00-12:00, 13:00-17:00\" (Monday–Friday), or an object with time_zone, weekdays, monday…sunday, holidays (nl or none), good_friday, liberation_day, closed_dates.",
            "oneOf": [
              {
                "type": "string"
              },
              {
                "type": "object"
              }
            ]
          },
          "sla": {
            "type": "object",
            "properties": {
              "email_business_hours": {
                "type": "number",
                "minimum": 0.05,
                "maximum": 720
              },
              "chat_business_hours": {
                "type": "number",
                "minimum": 0.05,
                "maximum": 720
              },
              "escalated_minutes": {
                "type": "number",
                "minimum": 1,
                "maximum": 1440
              },
              "reminder_fractions": {
                "type": "array",
                "maxItems": 2,
                "items": {
                  "type": "number",
                  "exclusiveMinimum": 0,
                  "exclusiveMaximum": 1
                }
              },
              "executive_after_overdue_hours": {
                "type": "number",
                "minimum": 0.5,
                "maximum": 720
              }
            },
            "additionalProperties": false
          },
          "task_response_hours": {
            "type": "object",
            "description": "Business hours by task priority (critical, urgent, high, normal, low) for a task created without a due date.",
            "additionalProperties": {
              "type": "number",
              "minimum": 0.05,
              "maximum": 720
            }
          },
          "task_rules": {
            "type": "object",
            "properties": {
              "follow_up": {
                "type": "object",
                "properties": {
                  "enabled": {
                    "type": "boolean"
                  },
                  "after_business_hours": {
                    "type": "number",
                    "minimum": 0.05,
                    "maximum": 720
                  }
                },
                "additionalProperties": false
              },
              "callback": {
                "type": "object",
                "properties": {
                  "enabled": {
                    "type": "boolean"
                  }
                },
                "additionalProperties": false
              },
              "escalate": {
                "type": "object",
                "properties": {
                  "enabled": {
                    "type": "boolean"
                  }
                },
                "additionalProperties": false
              },
              "overdue_reminder": {
                "type": "object",
                "properties": {
                  "enabled": {
                    "type": "boolean"
                  }
                },
                "additionalProperties": false
              }
            },
            "additionalProperties": false
          },
          "digest": {
            "type": "object",
            "properties": {
              "enabled": {
                "type": "boolean"
              },
              "channel_id": {
                "oneOf": [
                  {
                    "$ref": "#/components/schemas/Uuid"
                  },
                  {
                    "type": "null"
                  }
                ]
              }
            },
            "additionalProperties": false
          }
        },
        "additionalProperties": false
      },
      "IngestOutgoingMessage": {
        "type": "object",
        "description": "Mail the mailbox itself sent (Outlook's Sent Items): logged as outgoing (delivery_status sent) in its thread, never sent again. With commhub_message_id naming a message CommHub sent, nothing new is logged: that message learns external_message_id, and the conversation and Message-ID become references of its thread (answer: updated). sender_external is the mailbox; received_at when it was sent.",
        "required": [
          "type",
          "channel_id",
          "external_message_id",
          "sender_external",
          "message_content",
          "received_at"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "outgoing_message"
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "external_message_id": {
            "type": "string",
            "description": "The provider's message id; with channel_id the idempotency key."
          },
          "thread_reference": {
            "$ref": "#/components/schemas/ExternalReference"
          },
          "in_reply_to": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "E-mail Message-IDs this message answers (In-Reply-To, References)."
          },
          "internet_message_id": {
            "type": "string",
            "description": "This e-mail's own RFC 5322 Message-ID."
          },
          "sender_external": {
            "$ref": "#/components/schemas/ExternalParty"
          },
          "subject": {
            "type": "string"
          },
          "message_content": {
            "type": "string"
          },
          "message_html": {
            "type": "string"
          },
          "attachments": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Attachment"
            }
          },
          "received_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "metadata": {
            "type": "object",
            "description": "What the provider says beyond the text: reply_to_external_id (the message it answers), payload (a button's), interactive {type, id, title, description}, unsupported."
          },
          "recipient_external": {
            "$ref": "#/components/schemas/ExternalParty",
            "description": "Whom it was written to: the customer the thread is matched by."
          },
          "commhub_message_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "CommHub's own message, when the mail carries x-commhub-message-id or a Message-ID <commhub.{id}@…>."
          }
        },
        "additionalProperties": false
      },
      "IngestMessageRemoved": {
        "type": "object",
        "description": "A message no longer in its folder at the provider (deleted, or moved out of a synchronised folder): noted on the message as metadata.removed_at_provider; a message CommHub does not know is ignored, never created.",
        "required": [
          "type",
          "channel_id",
          "external_message_id"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "message_removed"
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "external_message_id": {
            "type": "string"
          },
          "reason": {
            "type": [
              "string",
              "null"
            ],
            "description": "The provider's reason (deleted, changed)."
          },
          "folder": {
            "type": [
              "string",
              "null"
            ]
          },
          "at": {
            "$ref": "#/components/schemas/DateTime"
          }
        },
        "additionalProperties": false
      },
      "IngestCalendarFollowUp": {
        "type": "object",
        "description": "A calendar event that marks a follow-up, as it is now. One follow_up task per channel and event_id: created, updated on a change, cancelled when cancelled is true (an event cancelled, deleted or no longer marked). Assigned to the internal person whose e-mail is organizer_email, linked to the order named in title or description (else the customer among attendee_emails) and its open thread, due at due_at in the business calendar's time zone.",
        "required": [
          "type",
          "channel_id",
          "event_id",
          "title"
        ],
        "properties": {
          "type": {
            "type": "string",
            "const": "calendar_follow_up"
          },
          "channel_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "event_id": {
            "type": "string"
          },
          "title": {
            "type": "string"
          },
          "description": {
            "type": [
              "string",
              "null"
            ]
          },
          "organizer_email": {
            "type": [
              "string",
              "null"
            ]
          },
          "due_at": {
            "$ref": "#/components/schemas/DateTime"
          },
          "cancelled": {
            "type": "boolean",
            "default": false
          },
          "attendee_emails": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        },
        "additionalProperties": false
      },
      "ErasureResult": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "customer_id",
          "threads_erased",
          "messages_erased",
          "orders_removed",
          "tasks_removed",
          "seq"
        ],
        "properties": {
          "customer_id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "threads_erased": {
            "type": "integer",
            "minimum": 0,
            "description": "Threads left as 'erased customer' skeletons (counted in analytics as before)."
          },
          "messages_erased": {
            "type": "integer",
            "minimum": 0,
            "description": "Messages whose bodies and personal data were destroyed (their headers stay, anonymised)."
          },
          "orders_removed": {
            "type": "integer",
            "minimum": 0
          },
          "tasks_removed": {
            "type": "integer",
            "minimum": 0
          },
          "seq": {
            "type": "integer",
            "minimum": 0,
            "description": "Journal sequence number of the erasure's audit entry."
          }
        }
      },
      "RetentionRule": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "keep_closed_threads_months"
        ],
        "properties": {
          "business_entity": {
            "type": "string"
          },
          "channel_type": {
            "$ref": "#/components/schemas/ChannelType"
          },
          "keep_closed_threads_months": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1200,
            "description": "Months the content of a resolved or closed thread is kept after it was finished."
          }
        }
      },
      "RetentionPolicy": {
        "type": "object",
        "additionalProperties": false,
        "required": [
          "rules"
        ],
        "properties": {
          "rules": {
            "type": "array",
            "maxItems": 200,
            "items": {
              "$ref": "#/components/schemas/RetentionRule"
            },
            "description": "The most specific rule applies (brand and channel type, then brand, then channel type, then neither). Threads without a rule are kept."
          },
          "audit_retention_months": {
            "type": [
              "integer",
              "null"
            ],
            "minimum": 1,
            "maximum": 1200,
            "description": "Audit entries older than this are deleted; absent or null keeps the trail forever."
          }
        }
      },
      "TemplateSuggestion": {
        "type": "object",
        "description": "A template that fits the thread, with why it ranks where it does.",
        "required": [
          "id",
          "template_name",
          "template_category",
          "channel_type",
          "message_template",
          "variables",
          "business_entity",
          "is_active",
          "usage_count",
          "suggestion"
        ],
        "properties": {
          "id": {
            "$ref": "#/components/schemas/Uuid"
          },
          "template_name": {
            "type": "string"
          },
          "template_category": {
            "$ref": "#/components/schemas/TemplateCategory"
          },
          "channel_type": {
            "$ref": "#/components/schemas/TemplateChannelType"
          },
          "subject_template": {
            "type": "string"
          },
          "message_template": {
            "type": "string"
          },
          "html_template": {
            "type": "string"
          },
          "variables": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "description": "The {{variables}} the template uses."
          },
          "business_entity": {
            "$ref": "#/components/schemas/TemplateBusinessEntity"
          },
          "is_active": {
            "type": "boolean"
          },
          "usage_count": {
            "type": "integer"
          },
          "whatsapp_template_name": {
            "type": "string",
            "description": "The template's name as approved at Meta: sent through WhatsApp as that template (allowed outside the 24-hour window), with variables as body parameters in order."
          },
          "whatsapp_language": {
            "type": "string",
            "description": "The approved translation's language code (nl, en_US)."
          },
          "suggestion": {
            "type": "object",
            "required": [
              "rank",
              "category_match",
              "category_tier",
              "similar_thread_uses",
              "brand_match",
              "channel_match",
              "channel_type"
            ],
            "properties": {
              "rank": {
                "type": "integer",
                "minimum": 1
              },
              "category_match": {
                "type": "boolean",
                "description": "The template's category is the one of the thread's type."
              },
              "category_tier": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2,
                "description": "0: the thread type's category; 1: follow_up while the thread waits for the customer; 2: other."
              },
              "similar_thread_uses": {
                "type": "integer",
                "minimum": 0,
                "description": "Real sends of this template in threads of the same type and brand."
              },
              "brand_match": {
                "type": "string",
                "enum": [
                  "exact",
                  "all"
                ]
              },
              "channel_match": {
                "type": "string",
                "enum": [
                  "exact",
                  "any"
                ]
              },
              "channel_type": {
                "$ref": "#/components/schemas/ChannelType"
              }
            }
          }
        }
      },
      "TemplateSuggestionPage": {
        "description": "Ranked template suggestions (one page: next_cursor is always null).",
        "allOf": [
          {
            "$ref": "#/components/schemas/ListPage"
          },
          {
            "type": "object",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/TemplateSuggestion"
                }
              }
            }
          }
        ]
      },
      "ThreadMerge": {
        "type": "object",
        "required": [
          "into"
        ],
        "additionalProperties": false,
        "properties": {
          "into": {
            "$ref": "#/components/schemas/Uuid",
            "description": "The surviving thread."
          }
        }
      },
      "ThreadSplit": {
        "type": "object",
        "required": [
          "from_message_id"
        ],
        "additionalProperties": false,
        "properties": {
          "from_message_id": {
            "$ref": "#/components/schemas/Uuid",
            "description": "The first message to move; it and every later message go to the new thread."
          }
        }
      }
    }
  }
}
"""#
